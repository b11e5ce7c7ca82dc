/**
 * RFC 3339 `date-time` (§5.6), checked strictly: the grammar alone accepts month 13 or hour 25,
 * so every field's range is checked too, and February 29 only in leap years.
 */

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/**
 * Whether the text is an RFC 3339 date-time such as `2024-05-01T12:00:00Z` or
 * `2024-05-01T14:00:00.123+02:00`.
 *
 * A leap second (`:60`) is accepted only where one can occur, at 23:59:60 UTC (RFC 3339 §5.7).
 * Note that `Date.parse` returns NaN for such a time.
 */
export function isRfc3339Timestamp(text: string): boolean {
  const match = DATE_TIME.exec(text);
  if (match === null) return false;
  const [, year, month, day, hour, minute, second, , offsetHour, offsetMinute] = match.map(Number);
  if (month! < 1 || month! > 12) return false;
  if (day! < 1 || day! > daysInMonth(year!, month!)) return false;
  if (hour! > 23 || minute! > 59 || second! > 60) return false;
  let offsetMinutes = 0;
  if (match[7] !== undefined) {
    if (offsetHour! > 23 || offsetMinute! > 59) return false;
    offsetMinutes = (match[7] === '-' ? -1 : 1) * (offsetHour! * 60 + offsetMinute!);
  }
  if (second === 60) {
    const utcMinuteOfDay = (((hour! * 60 + minute! - offsetMinutes) % 1440) + 1440) % 1440;
    return utcMinuteOfDay === 23 * 60 + 59;
  }
  return true;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}
