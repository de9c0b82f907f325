// Dates and digits as the payer types them, whatever the browser's own language: the filters' dates are text
// fields written day/month/year in every language of the page (a native date picker speaks the browser's language,
// not the page's). Pure: no DOM, so that node tests it.

const ARABIC_INDIC = /[\u0660-\u0669\u06f0-\u06f9]/g;

/** Arabic-Indic digits (٠–٩ and the Persian ۰–۹ of some keyboards) and the Arabic decimal comma -> ASCII. */
export function asciiDigits(text) {
  return String(text ?? "")
    .replace(ARABIC_INDIC, (digit) => String(digit.charCodeAt(0) & 0xf))
    .replace(/\u066b/g, ",");
}

const pad = (number, width = 2) => String(number).padStart(width, "0");

/** A real calendar day -> "YYYY-MM-DD" (the API's form), else null. */
function isoDay(year, month, day) {
  if (year < 1900 || year > 2999 || month < 1 || month > 12 || day < 1) return null;
  const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return day > last ? null : `${pad(year, 4)}-${pad(month)}-${pad(day)}`;
}

/**
 * A date as a payer types it -> "YYYY-MM-DD", or null when it is no date: day/month/year with "/", ".", "-" or
 * spaces between ("5/1/2026", "05.01.2026"), in any digits; the API's own "2026-01-05" too. "" -> "".
 */
export function parseUserDate(text) {
  const typed = asciiDigits(text).trim();
  if (!typed) return "";
  const iso = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(typed);
  if (iso) return isoDay(+iso[1], +iso[2], +iso[3]);
  const written = /^(\d{1,2})\s*[/.\- ]\s*(\d{1,2})\s*[/.\- ]\s*(\d{4})$/.exec(typed);
  return written ? isoDay(+written[3], +written[2], +written[1]) : null;
}

/** "2026-01-05" -> "05/01/2026", as the filters show a date back to the payer (the same in fr, ar and en). */
export function userDate(isoDate) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate || "");
  return match ? `${match[3]}/${match[2]}/${match[1]}` : "";
}

/** Morocco's time zone: receipts say when a payment was made in the time PORTNET and the issuers keep. */
export const MOROCCO = "Africa/Casablanca";

/** The offset from UTC of time zone `timeZone` at instant `iso` -> "UTC+1", "UTC+0" (Morocco moves during Ramadan). */
export function utcOffset(iso, timeZone = MOROCCO) {
  const at = new Date(iso);
  if (!iso || Number.isNaN(at.getTime())) return "";
  const name = new Intl.DateTimeFormat("en-GB", { timeZone, timeZoneName: "shortOffset" })
    .formatToParts(at)
    .find((part) => part.type === "timeZoneName")?.value;
  const offset = /^(?:GMT|UTC)([+-]\d{1,2}(?::\d{2})?)?$/.exec(name || "");
  return offset ? `UTC${offset[1] || "+0"}` : "";
}
