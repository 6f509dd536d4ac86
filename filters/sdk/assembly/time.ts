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
