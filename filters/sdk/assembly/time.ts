// Time formatting for headers: the IMF-fixdate of RFC 9110 §5.6.7 ("Sun, 06 Nov 1994 08:49:37 GMT"),
// used by Expires, Date, Last-Modified and Retry-After. The clock itself is nowMilliseconds() (host.ts).

function pad2(n: i32): string {
  return n < 10 ? '0' + n.toString() : n.toString();
}

/** IMF-fixdate of a Unix time in milliseconds (UTC). */
export function httpDate(unixMs: i64): string {
  let secs = unixMs / 1000;
  if (unixMs < 0 && unixMs % 1000 != 0) secs--;
  let days = secs / 86400;
  let rem = <i32>(secs % 86400);
  if (rem < 0) {
    rem += 86400;
    days--;
  }
  // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
  const z = days + 719468;
  const era = (z >= 0 ? z : z - 146096) / 146097;
  const doe = z - era * 146097;
  const yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const mp = (5 * doy + 2) / 153;
  const day = <i32>(doy - (153 * mp + 2) / 5 + 1);
  const month = <i32>(mp < 10 ? mp + 3 : mp - 9);
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  let weekday = <i32>((days + 4) % 7); // 1970-01-01 was a Thursday
  if (weekday < 0) weekday += 7;
  const names = 'SunMonTueWedThuFriSat';
  const months = 'JanFebMarAprMayJunJulAugSepOctNovDec';
  return (
    names.substring(weekday * 3, weekday * 3 + 3) +
    ', ' +
    pad2(day) +
    ' ' +
    months.substring((month - 1) * 3, month * 3) +
    ' ' +
    year.toString() +
    ' ' +
    pad2(rem / 3600) +
    ':' +
    pad2((rem / 60) % 60) +
    ':' +
    pad2(rem % 60) +
    ' GMT'
  );
}

function digitsAt(s: string, at: i32, n: i32): i32 {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    v = v * 10 + (c - 48);
  }
  return v;
}

/** Days from 1970-01-01 to a civil date (proleptic Gregorian). */
function daysFromCivil(year: i64, month: i32, day: i32): i64 {
  const y = month <= 2 ? year - 1 : year;
  const era = (y >= 0 ? y : y - 399) / 400;
  const yoe = y - era * 400;
  const mp = month > 2 ? month - 3 : month + 9;
  const doy = (153 * mp + 2) / 5 + day - 1;
  const doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/**
 * The Unix time in milliseconds of an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", what every
 * sender must use), or -1 when the text is not one (the obsolete RFC 850 and asctime forms included).
 */
export function parseHttpDate(text: string): i64 {
  if (text.length != 29 || text.charCodeAt(3) != 44 || !text.endsWith(' GMT')) return -1;
  const weekday = 'SunMonTueWedThuFriSat'.indexOf(text.substring(0, 3));
  const month = 'JanFebMarAprMayJunJulAugSepOctNovDec'.indexOf(text.substring(8, 11));
  if (weekday < 0 || weekday % 3 != 0 || month < 0 || month % 3 != 0) return -1;
  if (text.charCodeAt(4) != 32 || text.charCodeAt(7) != 32 || text.charCodeAt(11) != 32 || text.charCodeAt(16) != 32)
    return -1;
  if (text.charCodeAt(19) != 58 || text.charCodeAt(22) != 58) return -1;
  const day = digitsAt(text, 5, 2);
  const year = digitsAt(text, 12, 4);
  const hour = digitsAt(text, 17, 2);
  const minute = digitsAt(text, 20, 2);
  const second = digitsAt(text, 23, 2);
  const m = month / 3 + 1;
  if (day < 1 || year < 0 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) return -1;
  const monthDays: i32 =
    m == 2
      ? (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        ? 29
        : 28
      : m == 4 || m == 6 || m == 9 || m == 11
        ? 30
        : 31;
  if (day > monthDays) return -1;
  const days = daysFromCivil(year, m, day);
  let wd = <i32>((days + 4) % 7);
  if (wd < 0) wd += 7;
  if (wd != weekday / 3) return -1;
  return (days * 86400 + <i64>(hour * 3600 + minute * 60 + min(second, 59))) * 1000;
}
