//! Statistics of one metric at one point over its seeds: n, mean with a
//! 95 % confidence interval (Student's t: seeds are independent runs, and a
//! point has few of them), percentiles and extremes. Inputs come sorted by
//! seed, so every sum is taken in one order and the numbers are the same at
//! any `--jobs`, resumed or merged.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub n: u64,
    pub mean: f64,
    /// 95 % confidence interval of the mean; a single run gives [mean, mean].
    pub ci95: [f64; 2],
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub min: f64,
    pub max: f64,
}

/// Two-sided 95 % quantiles of Student's t for 1..=30 degrees of freedom.
const T95: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
    2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/// The t quantile for `df` degrees of freedom (past 30, a close approximation).
pub fn t95(df: u64) -> f64 {
    match df {
        0 => f64::INFINITY,
        1..=30 => T95[df as usize - 1],
        _ => 1.960 + 2.4 / df as f64,
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `None` for no values.
pub fn stats(values: &[f64]) -> Option<Stats> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let half = if values.len() < 2 {
        0.0
    } else {
        let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0);
        t95(values.len() as u64 - 1) * (var / n).sqrt()
    };
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some(Stats {
        n: values.len() as u64,
        mean,
        ci95: [mean - half, mean + half],
        p10: percentile(&sorted, 10.0),
        p50: percentile(&sorted, 50.0),
        p90: percentile(&sorted, 90.0),
        p99: percentile(&sorted, 99.0),
        min: sorted[0],
        max: sorted[sorted.len() - 1],
    })
}

/// Statistics of a 0/1 metric: as `stats`, but the mean's interval is
/// Wilson's score interval, which stays inside [0, 1] and does not collapse
/// to a point when every run agrees (the t interval does both wrong for a rate).
pub fn rate_stats(values: &[f64]) -> Option<Stats> {
    let mut s = stats(values)?;
    let (n, p, z) = (s.n as f64, s.mean, 1.96);
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / (1.0 + z * z / n);
    s.ci95 = [(centre - half).max(0.0), (centre + half).min(1.0)];
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_has_a_wilson_interval_inside_0_1() {
        let mut v = vec![0.0; 38];
        v.extend([1.0, 1.0]);
        let s = rate_stats(&v).unwrap();
        assert!((s.mean - 0.05).abs() < 1e-12);
        // Wilson 95 % for 2/40: [0.0138, 0.1650].
        assert!((s.ci95[0] - 0.0138).abs() < 1e-3 && (s.ci95[1] - 0.1650).abs() < 1e-3, "{s:?}");
        let none = rate_stats(&[0.0; 40]).unwrap();
        assert!(none.ci95[0] == 0.0 && none.ci95[1] > 0.05, "{none:?}");
    }

    #[test]
    fn stats_of_a_small_sample() {
        let s = stats(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!((s.n, s.mean, s.min, s.max, s.p50, s.p10, s.p99), (4, 2.5, 1.0, 4.0, 2.0, 1.0, 4.0));
        // sd = 1.291, se = 0.6455, t(3) = 3.182.
        assert!((s.ci95[1] - 2.5 - 3.182 * 0.645_497).abs() < 1e-5, "{s:?}");
        assert_eq!(stats(&[7.0]).unwrap().ci95, [7.0, 7.0]);
        assert!(stats(&[]).is_none());
    }
}
