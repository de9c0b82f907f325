"""The fonts the receipt's PDF embeds (Noto Sans, Noto Naskh Arabic; SIL Open Font License 1.1, see OFL.txt), shipped
in the receipt layer beside their licence."""

from pathlib import Path

FONT_DIR = Path(__file__).resolve().parent
