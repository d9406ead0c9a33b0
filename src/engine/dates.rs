//! The two engines' `Expires` date parsers, which disagree on many inputs:
//! Chromium's `cookie_util::ParseCookieExpirationTime` and NSPR's
//! `PR_ParseTimeString`, which Firefox's `CookieParser::GetExpiry` calls.
//! Both return Unix seconds, or `None` when the engine cannot parse the
//! date (the cookie then becomes a session cookie).

/// Days from 1970-01-01 to the given proleptic Gregorian date
/// (Howard Hinnant's `days_from_civil`); `month` is 1-based.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

const MONTHS: [&[u8]; 12] = [
    b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec",
];

/// Chromium `net::cookie_util::ParseCookieExpirationTime`
/// (net/cookies/cookie_util.cc): tokens split on the delimiters below; the
/// first token starting with a month's three letters is the month, the first
/// `hh:mm:ss` token the time, the first number of at most two digits the day
/// and the next of at most five digits the year. Time zones are ignored
/// (everything is GMT). An impossible date or time gives `None`
/// (`SaturatedTimeFromUTCExploded` fails, the cookie is a session cookie).
pub(crate) fn chromium_parse_expires(input: &[u8]) -> Option<i64> {
    const DELIMITERS: &[u8] = b"\t !\"#$%&'()*+,-./;<=>?@[\\]^_`{|}~";
    let mut day = None;
    let mut month = None;
    let mut time = None;
    let mut year = None;
    for token in input
        .split(|b| DELIMITERS.contains(b))
        .filter(|t| !t.is_empty())
    {
        if !token[0].is_ascii_digit() {
            if month.is_none() {
                month = MONTHS
                    .iter()
                    .position(|m| token.len() >= 3 && token[..3].eq_ignore_ascii_case(m))
                    .map(|i| i as i64 + 1);
            }
        } else if token.contains(&b':') {
            if time.is_none() {
                time = sscanf_hh_mm_ss(token);
            }
        } else if day.is_none() && token.len() <= 2 {
            day = Some(atoi(token));
        } else if year.is_none() && token.len() <= 5 {
            year = Some(atoi(token));
        }
    }
    let (day, month, (hour, minute, second), mut year) = (day?, month?, time?, year?);
    if (70..=99).contains(&year) {
        year += 1900;
    } else if (0..=69).contains(&year) {
        year += 2000;
    }
    // base::Time::FromUTCExploded only accepts a date and time that exist
    // (it checks the round trip); anything else yields a null Time.
    if !(1..=days_in_month(year, month)).contains(&day) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// `sscanf(token, "%2u:%2u:%2u", ...) == 3` on a token that starts with a digit.
fn sscanf_hh_mm_ss(token: &[u8]) -> Option<(i64, i64, i64)> {
    let mut i = 0;
    let field = |i: &mut usize| -> Option<i64> {
        let start = *i;
        while *i < token.len() && *i - start < 2 && token[*i].is_ascii_digit() {
            *i += 1;
        }
        if *i == start {
            return None;
        }
        Some(atoi(&token[start..*i]))
    };
    let hour = field(&mut i)?;
    if token.get(i) != Some(&b':') {
        return None;
    }
    i += 1;
    let minute = field(&mut i)?;
    if token.get(i) != Some(&b':') {
        return None;
    }
    i += 1;
    let second = field(&mut i)?;
    Some((hour, minute, second))
}

/// C `atoi` on a token that starts with a digit: the leading digits.
fn atoi(token: &[u8]) -> i64 {
    token
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .take(18)
        .fold(0, |n, b| n * 10 + i64::from(b - b'0'))
}

/// NSPR `PR_ParseTimeString(string, /*default_to_gmt=*/true, ...)`
/// (nsprpub/pr/src/misc/prtime.c, `PR_ParseTimeStringToExplodedTime`),
/// followed by `PR_NormalizeTime` and `PR_ImplodeTime`: a forgiving
/// tokenizer that knows month and weekday names, a few time zones, numeric
/// zone offsets, `hh:mm[:ss]` with am/pm, `n/n/n` dates and bare numbers.
/// Out-of-range fields are normalised (Feb 30 is Mar 2), and a year above
/// 32767 fails. Its quirks are kept: `10:05` without seconds reads the
/// seconds from the character after the minutes.
// One match arm per `case` of prtime.c's switch, so the two read side by side.
#[allow(clippy::collapsible_match)]
pub(crate) fn nspr_parse_time(input: &[u8]) -> Option<i64> {
    // The C string ends at the first NUL.
    let s = input.split(|b| *b == 0).next().unwrap_or_default();
    let c = |i: usize| -> u8 { s.get(i).copied().unwrap_or(0) };
    let digit = |b: u8| b.is_ascii_digit();
    let eq = |b: u8, lower: u8| b.to_ascii_lowercase() == lower;

    #[derive(Clone, Copy, PartialEq)]
    enum Zone {
        Unknown,
        Pst,
        Pdt,
        Mst,
        Mdt,
        Cst,
        Cdt,
        Est,
        Edt,
        Ast,
        Nst,
        Gmt,
        Bst,
        Met,
        Eet,
        Jst,
    }

    let mut dotw_known = false;
    let mut month: Option<i64> = None; // tm_month, 0-based; may be out of range
    let mut zone = Zone::Unknown;
    let mut zone_offset: i64 = -1;
    let mut dst_offset: i64 = 0;
    let mut date: i64 = -1;
    let mut year: i64 = -1;
    let mut hour: i64 = -1;
    let mut min: i64 = -1;
    let mut sec: i64 = -1;

    let mut rest = 0usize;
    let mut iterations = 0;
    while c(rest) != 0 {
        iterations += 1;
        if iterations > 1000 {
            return None;
        }
        let (r1, r2) = (c(rest + 1), c(rest + 2));
        match c(rest).to_ascii_lowercase() {
            b'a' => {
                if month.is_none() && eq(r1, b'p') && eq(r2, b'r') {
                    month = Some(3);
                } else if zone == Zone::Unknown && eq(r1, b's') && eq(r2, b't') {
                    zone = Zone::Ast;
                } else if month.is_none() && eq(r1, b'u') && eq(r2, b'g') {
                    month = Some(7);
                }
            }
            b'b' => {
                if zone == Zone::Unknown && eq(r1, b's') && eq(r2, b't') {
                    zone = Zone::Bst;
                }
            }
            b'c' => {
                if zone == Zone::Unknown && eq(r1, b'd') && eq(r2, b't') {
                    zone = Zone::Cdt;
                } else if zone == Zone::Unknown && eq(r1, b's') && eq(r2, b't') {
                    zone = Zone::Cst;
                }
            }
            b'd' => {
                if month.is_none() && eq(r1, b'e') && eq(r2, b'c') {
                    month = Some(11);
                }
            }
            b'e' => {
                if zone == Zone::Unknown && eq(r1, b'd') && eq(r2, b't') {
                    zone = Zone::Edt;
                } else if zone == Zone::Unknown && eq(r1, b'e') && eq(r2, b't') {
                    zone = Zone::Eet;
                } else if zone == Zone::Unknown && eq(r1, b's') && eq(r2, b't') {
                    zone = Zone::Est;
                }
            }
            b'f' => {
                if month.is_none() && eq(r1, b'e') && eq(r2, b'b') {
                    month = Some(1);
                } else if !dotw_known && eq(r1, b'r') && eq(r2, b'i') {
                    dotw_known = true;
                }
            }
            b'g' => {
                if zone == Zone::Unknown && eq(r1, b'm') && eq(r2, b't') {
                    zone = Zone::Gmt;
                }
            }
            b'j' => {
                if month.is_none() && eq(r1, b'a') && eq(r2, b'n') {
                    month = Some(0);
                } else if zone == Zone::Unknown && eq(r1, b's') && eq(r2, b't') {
                    zone = Zone::Jst;
                } else if month.is_none() && eq(r1, b'u') && eq(r2, b'l') {
                    month = Some(6);
                } else if month.is_none() && eq(r1, b'u') && eq(r2, b'n') {
                    month = Some(5);
                }
            }
            b'm' => {
                if month.is_none() && eq(r1, b'a') && eq(r2, b'r') {
                    month = Some(2);
                } else if month.is_none() && eq(r1, b'a') && eq(r2, b'y') {
                    month = Some(4);
                } else if zone == Zone::Unknown && eq(r1, b'd') && eq(r2, b't') {
                    zone = Zone::Mdt;
                } else if zone == Zone::Unknown && eq(r1, b'e') && eq(r2, b't') {
                    zone = Zone::Met;
                } else if !dotw_known && eq(r1, b'o') && eq(r2, b'n') {
                    dotw_known = true;
                } else if zone == Zone::Unknown && eq(r1, b's') && eq(r2, b't') {
                    zone = Zone::Mst;
                }
            }
            b'n' => {
                if month.is_none() && eq(r1, b'o') && eq(r2, b'v') {
                    month = Some(10);
                } else if zone == Zone::Unknown && eq(r1, b's') && eq(r2, b't') {
                    zone = Zone::Nst;
                }
            }
            b'o' => {
                if month.is_none() && eq(r1, b'c') && eq(r2, b't') {
                    month = Some(9);
                }
            }
            b'p' => {
                if zone == Zone::Unknown && eq(r1, b'd') && eq(r2, b't') {
                    zone = Zone::Pdt;
                } else if zone == Zone::Unknown && eq(r1, b's') && eq(r2, b't') {
                    zone = Zone::Pst;
                }
            }
            b's' => {
                if !dotw_known && eq(r1, b'a') && eq(r2, b't') {
                    dotw_known = true;
                } else if month.is_none() && eq(r1, b'e') && eq(r2, b'p') {
                    month = Some(8);
                } else if !dotw_known && eq(r1, b'u') && eq(r2, b'n') {
                    dotw_known = true;
                }
            }
            b't' => {
                if !dotw_known && ((eq(r1, b'h') && eq(r2, b'u')) || (eq(r1, b'u') && eq(r2, b'e')))
                {
                    dotw_known = true;
                }
            }
            b'u' => {
                // "UT" is GMT, "UTx" is not.
                if zone == Zone::Unknown && eq(r1, b't') && !r2.is_ascii_alphabetic() {
                    zone = Zone::Gmt;
                }
            }
            b'w' => {
                if !dotw_known && eq(r1, b'e') && eq(r2, b'd') {
                    dotw_known = true;
                }
            }
            b'+' | b'-' => 'sign: {
                if zone_offset != -1 || (zone != Zone::Unknown && zone != Zone::Gmt) {
                    // Already got one, or "PST+0300", which is not legal.
                    rest += 1;
                    break 'sign;
                }
                let sign = if c(rest) == b'+' { 1 } else { -1 };
                rest += 1;
                let mut end = rest;
                while digit(c(end)) {
                    end += 1;
                }
                let n = |i: usize| i64::from(c(rest + i)) - i64::from(b'0');
                zone_offset = match end - rest {
                    0 => break 'sign,
                    4 => (n(0) * 10 + n(1)) * 60 + n(2) * 10 + n(3),
                    2 => (n(0) * 10 + n(1)) * 60,
                    1 => n(0) * 60,
                    _ => break 'sign,
                };
                zone_offset *= sign;
                zone = Zone::Gmt;
            }
            b'0'..=b'9' => 'num: {
                let n = |i: usize| i64::from(c(i)) - i64::from(b'0');
                let mut end = rest + 1;
                while digit(c(end)) {
                    end += 1;
                }
                if c(end) == b':' {
                    if hour >= 0 && min >= 0 {
                        break 'num;
                    }
                    // "[0-9]+:", probably HH:MM[:SS]
                    let tmp_hour = match end - rest {
                        2 => n(rest) * 10 + n(rest + 1),
                        1 => n(rest),
                        _ => break 'num,
                    };
                    end += 1;
                    rest = end;
                    while digit(c(end)) {
                        end += 1;
                    }
                    let tmp_min = match end - rest {
                        2 => n(rest) * 10 + n(rest + 1),
                        1 => n(rest),
                        _ => break 'num,
                    };
                    rest = end;
                    if c(rest) == b':' {
                        rest += 1;
                    }
                    end = rest;
                    while digit(c(end)) {
                        end += 1;
                    }
                    if end - rest > 2 {
                        break 'num;
                    }
                    // NSPR reads one "digit" even when there is none.
                    let tmp_sec = if end - rest == 2 {
                        n(rest) * 10 + n(rest + 1)
                    } else {
                        n(rest)
                    };
                    let mut tmp_hour = tmp_hour;
                    if tmp_hour <= 12 {
                        let mut s = end;
                        while c(s) == b' ' || c(s) == b'\t' {
                            s += 1;
                        }
                        if eq(c(s), b'p') && eq(c(s + 1), b'm') {
                            tmp_hour = if tmp_hour == 12 { 12 } else { tmp_hour + 12 };
                        } else if tmp_hour == 12 && eq(c(s), b'a') && eq(c(s + 1), b'm') {
                            tmp_hour = 0;
                        }
                    }
                    hour = tmp_hour;
                    min = tmp_min;
                    sec = tmp_sec;
                    rest = end;
                    break 'num;
                }
                if (c(end) == b'/' || c(end) == b'-') && digit(c(end + 1)) {
                    // 6/16/95, 16/6/95, 6-16-95, 16-6-95 or 95-06-05.
                    if month.is_some() {
                        break 'num;
                    }
                    let mut s = rest;
                    let number = |s: &mut usize, max_digits: usize| -> i64 {
                        let mut v = n(*s);
                        *s += 1;
                        for _ in 1..max_digits {
                            if !digit(c(*s)) {
                                break;
                            }
                            v = v * 10 + n(*s);
                            *s += 1;
                        }
                        v
                    };
                    let n1 = number(&mut s, 2);
                    if c(s) != b'/' && c(s) != b'-' {
                        break 'num;
                    }
                    s += 1;
                    if !digit(c(s)) {
                        break 'num;
                    }
                    let n2 = number(&mut s, 2);
                    if c(s) != b'/' && c(s) != b'-' {
                        break 'num;
                    }
                    s += 1;
                    if !digit(c(s)) {
                        break 'num;
                    }
                    let mut n3 = number(&mut s, 2);
                    if digit(c(s)) {
                        // Optional digits 3, 4 and 5 of the third number.
                        n3 = n3 * 10 + n(s);
                        s += 1;
                        if !digit(c(s)) {
                            break 'num;
                        }
                        n3 = n3 * 10 + n(s);
                        s += 1;
                        if digit(c(s)) {
                            n3 = n3 * 10 + n(s);
                            s += 1;
                        }
                    }
                    if c(s).is_ascii_alphanumeric() {
                        break 'num;
                    }
                    if n1 > 31 || n1 == 0 {
                        // YY/MM/DD
                        if n2 > 12 || n3 > 31 {
                            break 'num;
                        }
                        year = n1;
                        if year < 70 {
                            year += 2000;
                        } else if year < 100 {
                            year += 1900;
                        }
                        month = Some(n2 - 1);
                        date = n3;
                        rest = s;
                        break 'num;
                    }
                    if n1 > 12 && n2 > 12 {
                        rest = s;
                        break 'num;
                    }
                    if n3 < 70 {
                        n3 += 2000;
                    } else if n3 < 100 {
                        n3 += 1900;
                    }
                    if n1 > 12 {
                        // DD/MM/YY
                        date = n1;
                        month = Some(n2 - 1);
                    } else {
                        // MM/DD/YY
                        month = Some(n1 - 1);
                        date = n2;
                    }
                    year = n3;
                    rest = s;
                } else if c(end).is_ascii_alphabetic() {
                    // Digits followed by letters: ignored.
                } else {
                    let value = (rest..end).fold(0, |v, i| v * 10 + n(i));
                    match end - rest {
                        5 | 4 => {
                            if year < 0 {
                                year = value;
                            }
                        }
                        2 => {
                            if date < 0 && value < 32 {
                                date = value;
                            } else if year < 0 {
                                year = if value < 70 {
                                    2000 + value
                                } else if value < 100 {
                                    1900 + value
                                } else {
                                    value
                                };
                            }
                        }
                        1 => {
                            if date < 0 {
                                date = value;
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }

        // Skip to the end of this token, whether it was parsed or not.
        while c(rest) != 0 && !b" \t,;-+/()[]".contains(&c(rest)) {
            rest += 1;
        }
        loop {
            while c(rest) != 0 && b" \t,;/()[]".contains(&c(rest)) {
                rest += 1;
            }
            // A "-" is skipped when no year is known yet after a word
            // ("30-AUG-1966") or when no digit follows it.
            if c(rest) == b'-'
                && ((rest > 0 && c(rest - 1).is_ascii_alphabetic() && year < 0)
                    || !digit(c(rest + 1)))
            {
                rest += 1;
                continue;
            }
            break;
        }
    }

    if zone != Zone::Unknown && zone_offset == -1 {
        (zone_offset, dst_offset) = match zone {
            Zone::Pst => (-8 * 60, 0),
            Zone::Pdt => (-8 * 60, 60),
            Zone::Mst => (-7 * 60, 0),
            Zone::Mdt => (-7 * 60, 60),
            Zone::Cst => (-6 * 60, 0),
            Zone::Cdt => (-6 * 60, 60),
            Zone::Est => (-5 * 60, 0),
            Zone::Edt => (-5 * 60, 60),
            Zone::Ast => (-4 * 60, 0),
            Zone::Nst => (-3 * 60 - 30, 0),
            Zone::Bst => (0, 60),
            Zone::Met => (60, 0),
            Zone::Eet => (2 * 60, 0),
            Zone::Jst => (9 * 60, 0),
            Zone::Gmt | Zone::Unknown => (0, 0),
        };
    }
    let month = month?;
    if date == -1 || year == -1 || year > i64::from(i16::MAX) {
        return None;
    }
    if zone_offset == -1 {
        // default_to_gmt
        zone_offset = 0;
    }
    let unset_is_zero = |v: i64| if v == -1 { 0 } else { v };
    // PR_NormalizeTime carries months into years and everything else
    // linearly into days and seconds; PR_ImplodeTime subtracts the offsets.
    let year = year + month.div_euclid(12);
    let month = month.rem_euclid(12) + 1;
    let days = days_from_civil(year, month, 1) + date - 1;
    Some(
        days * 86_400 + unset_is_zero(hour) * 3600 + unset_is_zero(min) * 60 + unset_is_zero(sec)
            - (zone_offset + dst_offset) * 60,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2027-06-09T10:18:14Z
    const JUNE_9: i64 = 1_812_536_294;

    #[test]
    fn civil_days_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1601, 1, 1), -134_774);
    }

    #[test]
    fn both_parse_the_imf_fixdate() {
        let line = b"Wed, 09 Jun 2027 10:18:14 GMT";
        assert_eq!(chromium_parse_expires(line), Some(JUNE_9));
        assert_eq!(nspr_parse_time(line), Some(JUNE_9));
    }

    #[test]
    fn both_parse_the_old_netscape_and_asctime_forms() {
        assert_eq!(
            chromium_parse_expires(b"Wednesday, 09-Jun-27 10:18:14 GMT"),
            Some(JUNE_9)
        );
        assert_eq!(
            nspr_parse_time(b"Wednesday, 09-Jun-27 10:18:14 GMT"),
            Some(JUNE_9)
        );
        assert_eq!(
            chromium_parse_expires(b"Wed Jun  9 10:18:14 2027"),
            Some(JUNE_9)
        );
        assert_eq!(nspr_parse_time(b"Wed Jun  9 10:18:14 2027"), Some(JUNE_9));
    }

    #[test]
    fn chromium_ignores_time_zones_and_firefox_applies_them() {
        let pst = b"Wed, 09 Jun 2027 10:18:14 PST";
        assert_eq!(chromium_parse_expires(pst), Some(JUNE_9));
        assert_eq!(nspr_parse_time(pst), Some(JUNE_9 + 8 * 3600));
        assert_eq!(
            nspr_parse_time(b"Wed, 09 Jun 2027 10:18:14 +0130"),
            Some(JUNE_9 - 5400)
        );
    }

    #[test]
    fn chromium_needs_seconds_and_a_real_date() {
        assert_eq!(chromium_parse_expires(b"Wed, 09 Jun 2027 10:18 GMT"), None);
        assert_eq!(
            chromium_parse_expires(b"Wed, 30 Feb 2027 10:18:14 GMT"),
            None
        );
        assert_eq!(
            chromium_parse_expires(b"Wed, 09 Jun 2027 24:00:00 GMT"),
            None
        );
        assert_eq!(
            chromium_parse_expires(b"Wed, 09 Jun 2027 23:59:60 GMT"),
            None
        );
        assert_eq!(chromium_parse_expires(b"09 Jun 10:18:14"), None);
        assert_eq!(chromium_parse_expires(b"tomorrow"), None);
        assert_eq!(chromium_parse_expires(b""), None);
    }

    #[test]
    fn firefox_normalises_impossible_dates() {
        // Feb 30 2027 is Mar 2.
        assert_eq!(
            nspr_parse_time(b"30 Feb 2027 00:00:00 GMT"),
            Some(days_from_civil(2027, 3, 2) * 86_400)
        );
        assert_eq!(
            nspr_parse_time(b"09 Jun 2027 24:00:00 GMT"),
            Some(days_from_civil(2027, 6, 10) * 86_400)
        );
    }

    #[test]
    fn firefox_reads_missing_seconds_from_the_next_character() {
        // " " - '0' = -16 seconds, an NSPR quirk kept on purpose.
        assert_eq!(
            nspr_parse_time(b"09 Jun 2027 10:18 GMT"),
            Some(JUNE_9 - 14 - 16)
        );
    }

    #[test]
    fn year_limits_differ() {
        let far = b"Fri, 01 Jan 40000 00:00:00 GMT";
        assert!(chromium_parse_expires(far).is_some_and(|t| t > JUNE_9));
        assert_eq!(nspr_parse_time(far), None);
        assert!(nspr_parse_time(b"Fri, 01 Jan 32767 00:00:00 GMT").is_some());
    }

    #[test]
    fn two_digit_years_pivot_at_70() {
        assert_eq!(
            chromium_parse_expires(b"01 Jan 69 00:00:00"),
            Some(days_from_civil(2069, 1, 1) * 86_400)
        );
        assert_eq!(chromium_parse_expires(b"01 Jan 70 00:00:00"), Some(0));
        assert_eq!(nspr_parse_time(b"01 Jan 70 00:00:00"), Some(0));
    }

    #[test]
    fn firefox_reads_numeric_dates() {
        assert_eq!(nspr_parse_time(b"06/09/2027 10:18:14"), Some(JUNE_9));
        // n1 > 31 means YY/MM/DD; n1 > 12 means DD/MM/YY.
        let ten_past = 10 * 3600 + 18 * 60 + 14;
        assert_eq!(
            nspr_parse_time(b"99-06-09 10:18:14"),
            Some(days_from_civil(1999, 6, 9) * 86_400 + ten_past)
        );
        assert_eq!(
            nspr_parse_time(b"27-06-09 10:18:14"),
            Some(days_from_civil(2009, 6, 27) * 86_400 + ten_past)
        );
        assert_eq!(chromium_parse_expires(b"06/09/2027 10:18:14"), None);
    }

    #[test]
    fn no_input_panics_either_parser() {
        for input in [
            &b"-"[..],
            b"+",
            b"1:",
            b"1:2:",
            b"99/99/99",
            b"1-2-",
            b"\x00",
            b"9:9:9:9",
            b"0/0/0",
        ] {
            let _ = chromium_parse_expires(input);
            let _ = nspr_parse_time(input);
        }
    }
}
