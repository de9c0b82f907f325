"""Accessibility checks the browser tests run on what the payer sees: axe-core on the page as it is, and the focus
ring's contrast measured against the background around it (WCAG 2.2, 1.4.11 and 2.4.13's 3:1)."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.base import AXE_SCRIPT  # axe-core's axe.min.js, installed from PyPI by `make install`
from playwright.sync_api import Page


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as shown (every rule axe runs by default: WCAG 2.x A/AA and best practices)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT)  # evaluated by the driver: no <script> added to the page (its CSP is not weakened)
    result: list[dict[str, Any]] = page.evaluate(
        """async () => {
            const { violations } = await axe.run(document, { resultTypes: ["violations"] });
            return violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => `${n.target.join(" ")}: ${n.failureSummary}`) }));
        }"""
    )
    return result


def assert_no_axe_violation(page: Page, where: str) -> None:
    violations = axe_violations(page)
    assert not violations, f"axe-core on {where}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['nodes'][:3]}" for v in violations
    )


# For the element that has focus: its outline's colour and the colours just outside it (what is under the points
# 2 px beyond the outline on each side: the nearest painted background there, each stop of a gradient), and the
# WCAG contrast ratio of the outline against each. Null when nothing has focus or it shows no outline.
FOCUS_RING = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const width = parseFloat(style.outlineWidth) || 0;
  if (style.outlineStyle === "none" || width === 0) return { element: describe(el), outline: null, backgrounds: [] };
  const parse = (text) => (text.match(/rgba?\\([^)]*\\)/g) || []).map((c) => c.match(/[\\d.]+/g).map(Number));
  const luminance = ([r, g, b]) => {
    const lin = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const ratio = (a, b) => { const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  function describe(node) { return node.id ? `#${node.id}` : `${node.tagName.toLowerCase()}.${node.className || ""}:${(node.textContent || "").trim().slice(0, 30)}`; }
  function paintedAt(x, y) {
    const stack = document.elementsFromPoint(x, y).filter((node) => node !== el && !el.contains(node));
    for (const node of stack) {
      for (let at = node; at; at = at.parentElement) {
        const s = getComputedStyle(at);
        if (s.backgroundImage && s.backgroundImage !== "none") return parse(s.backgroundImage);
        const [color] = parse(s.backgroundColor);
        if (color && (color.length < 4 || color[3] > 0)) return [color];
      }
    }
    const root = parse(getComputedStyle(document.documentElement).backgroundColor)[0];
    return [root && (root.length < 4 || root[3] > 0) ? root : [255, 255, 255]];
  }
  const outline = parse(style.outlineColor)[0];
  const box = el.getBoundingClientRect();
  const out = (parseFloat(style.outlineOffset) || 0) + width + 2;
  const cx = box.left + box.width / 2, cy = box.top + box.height / 2;
  const points = [[cx, box.top - out], [cx, box.bottom + out], [box.left - out, cy], [box.right + out, cy]]
    .filter(([x, y]) => x >= 0 && y >= 0 && x < innerWidth && y < innerHeight);
  const backgrounds = points.flatMap(([x, y]) => paintedAt(x, y));
  return { element: describe(el), outline, backgrounds, ratios: backgrounds.map((bg) => ratio(outline, bg)) };
}"""


def focus_ring(page: Page) -> dict[str, Any] | None:
    ring: dict[str, Any] | None = page.evaluate(FOCUS_RING)
    return ring
