//! Units as a scenario writes them: durations like `"150ms"`, `"2s"`,
//! `"500us"`, and probabilities like `"1%"`, `"0.5%"`, `"1/200"`. Both parse
//! to integers, so a scenario means the same thing on every machine.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::engine::{Micros, Ratio};

/// A duration in virtual microseconds, written with a unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub Micros);

impl Duration {
    pub fn us(self) -> Micros {
        self.0
    }
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let scale: u64 = match unit.trim() {
        "us" | "µs" => 1,
        "ms" => 1_000,
        "s" => 1_000_000,
        "m" | "min" => 60_000_000,
        _ => return Err(format!("a duration with a unit (us, ms, s, min), like \"150ms\"; got \"{text}\"")),
    };
    let value =
        parse_decimal(number, scale).ok_or_else(|| format!("a duration like \"150ms\" or \"1.5s\"; got \"{text}\""))?;
    if value > super::limits::MAX_DURATION_US {
        return Err(format!("a duration of at most 365 days (`scenario/limits.rs`); got \"{text}\""));
    }
    Ok(Duration(value))
}

/// `number * scale` for a decimal `number` without floats; `None` if it is
/// not a number, is too large, or has more precision than the scale holds.
fn parse_decimal(number: &str, scale: u64) -> Option<u64> {
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let mut value = whole.checked_mul(scale)?;
    let mut place = scale;
    for c in frac.chars() {
        let digit = u64::from(c.to_digit(10)?);
        if !place.is_multiple_of(10) {
            return None;
        }
        place /= 10;
        value = value.checked_add(digit * place)?;
    }
    Some(value)
}

/// A probability written as a percent or a fraction.
pub fn parse_ratio(text: &str) -> Result<Ratio, String> {
    let t = text.trim();
    let expected = || format!("a probability like \"1%\", \"0.25%\" or \"1/200\"; got \"{text}\"");
    if let Some(pct) = t.strip_suffix('%') {
        // Percent with up to 4 decimals: num / 1_000_000.
        let num = parse_decimal(pct.trim(), 10_000).ok_or_else(expected)?;
        if num > 1_000_000 {
            return Err(format!("a probability of at most 100%; got \"{text}\""));
        }
        return Ok(Ratio::new(num as u32, 1_000_000));
    }
    if let Some((n, d)) = t.split_once('/') {
        let num: u32 = n.trim().parse().map_err(|_| expected())?;
        let den: u32 = d.trim().parse().map_err(|_| expected())?;
        if den == 0 || num > den {
            return Err(format!("a fraction between 0 and 1 with a non-zero denominator; got \"{text}\""));
        }
        return Ok(Ratio::new(num, den));
    }
    Err(expected())
}

struct StrVisitor<F>(&'static str, F);

impl<T, F: Fn(&str) -> Result<T, String>> Visitor<'_> for StrVisitor<F> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.1)(v).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor("a duration string like \"150ms\"", parse_duration))
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // The largest unit that says it exactly: a written-out scenario
        // (a shrunk one) reads "20ms", not "20000us".
        let us = self.0;
        let text = match us {
            0 => "0ms".to_string(),
            _ if us.is_multiple_of(1_000_000) => format!("{}s", us / 1_000_000),
            _ if us.is_multiple_of(1_000) => format!("{}ms", us / 1_000),
            _ => format!("{us}us"),
        };
        s.serialize_str(&text)
    }
}

fn parse_chance(text: &str) -> Result<Chance, String> {
    parse_ratio(text).map(Chance)
}

/// A probability field of a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Chance(pub Ratio);

impl Default for Chance {
    fn default() -> Self {
        Chance(Ratio::NEVER)
    }
}

impl<'de> Deserialize<'de> for Chance {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor("a probability string like \"1%\" or \"1/200\"", parse_chance))
    }
}

impl Serialize for Chance {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (num, den) = (u64::from(self.0.num), u64::from(self.0.den));
        // A whole percent reads as one ("2%"); anything else as the fraction.
        let text =
            if (num * 100).is_multiple_of(den) { format!("{}%", num * 100 / den) } else { format!("{num}/{den}") };
        s.serialize_str(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_units_read_back_the_same() {
        for us in [0, 1, 999, 1_000, 20_000, 1_500_000, 2_000_000] {
            let text = ron::to_string(&Duration(us)).unwrap();
            assert_eq!(ron::from_str::<Duration>(&text).unwrap(), Duration(us), "{text}");
        }
        assert_eq!(ron::to_string(&Duration(20_000)).unwrap(), "\"20ms\"");
        for (num, den) in [(0, 1), (1, 50), (1, 3), (5, 1_000_000), (1, 1)] {
            let c = Chance(Ratio::new(num, den));
            let text = ron::to_string(&c).unwrap();
            let back = ron::from_str::<Chance>(&text).unwrap();
            assert_eq!(u64::from(back.0.num) * u64::from(den), u64::from(num) * u64::from(back.0.den), "{text}");
        }
        assert_eq!(ron::to_string(&Chance(Ratio::new(1, 50))).unwrap(), "\"2%\"");
    }

    #[test]
    fn durations_parse_to_microseconds() {
        for (text, us) in [
            ("150ms", 150_000),
            ("2s", 2_000_000),
            ("500us", 500),
            ("1.5s", 1_500_000),
            ("0.25ms", 250),
            ("1min", 60_000_000),
        ] {
            assert_eq!(parse_duration(text), Ok(Duration(us)), "{text}");
        }
        for bad in ["150", "ms", "1.5us", "abc", "-1s", "1x"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ratios_parse_without_floats() {
        assert_eq!(parse_ratio("1%"), Ok(Ratio::new(10_000, 1_000_000)));
        assert_eq!(parse_ratio("0.25%"), Ok(Ratio::new(2_500, 1_000_000)));
        assert_eq!(parse_ratio("1/200"), Ok(Ratio::new(1, 200)));
        for bad in ["101%", "2/1", "1/0", "x%", "0.3"] {
            assert!(parse_ratio(bad).is_err(), "{bad}");
        }
    }
}
