//! A fraction of a GPU, validated once for flags and configuration files alike.

use std::fmt;
use std::str::FromStr;

/// A share of one GPU in [1/1024, 1]: g2.mig's MIG slice is 0.125.
///
/// The lower bound keeps emulation arithmetic sane (a duty cycle of 1e-300 would idle for
/// longer than a `Duration` can hold) and is far below any real slice (the smallest MIG
/// profile is 1/7 of the SMs).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct GpuShare(f64);

/// A GPU share outside [1/1024, 1], or text that is not a number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid GPU share '{0}'; expected a number in [1/1024, 1] such as 0.125 or 1/8 (an eighth \
     of a GPU)"
)]
pub struct InvalidShareError(pub String);

impl GpuShare {
    /// The smallest share accepted, 1/1024.
    pub const MIN: f64 = 1.0 / 1024.0;
    /// A whole GPU.
    pub const WHOLE: GpuShare = GpuShare(1.0);

    /// The share `value`, if it is in [1/1024, 1].
    pub fn new(value: f64) -> Result<Self, InvalidShareError> {
        if (Self::MIN..=1.0).contains(&value) {
            Ok(Self(value))
        } else {
            Err(InvalidShareError(value.to_string()))
        }
    }

    /// The share as a number.
    pub fn get(self) -> f64 {
        self.0
    }

    /// True for a whole GPU, which needs no emulation.
    pub fn is_whole(self) -> bool {
        self.0 >= 1.0
    }
}

impl fmt::Display for GpuShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for GpuShare {
    type Err = InvalidShareError;

    /// A decimal (`0.125`) or a fraction (`1/8`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidShareError(text.to_owned());
        let number = |s: &str| s.trim().parse::<f64>().map_err(|_| invalid());
        let value = match text.split_once('/') {
            Some((num, den)) => number(num)? / number(den)?,
            None => number(text)?,
        };
        Self::new(value).map_err(|_| invalid())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn shares_parse_as_decimals_or_fractions_within_bounds() {
        assert_eq!("0.125".parse::<GpuShare>().unwrap().get(), 0.125);
        assert_eq!(" 1/8 ".parse::<GpuShare>().unwrap().get(), 0.125);
        assert_eq!("1".parse::<GpuShare>().unwrap(), GpuShare::WHOLE);
        assert!(GpuShare::WHOLE.is_whole());
        assert_eq!(GpuShare::new(GpuShare::MIN).unwrap().get(), 1.0 / 1024.0);
        for bad in [
            "0", "1.5", "-0.5", "1e-300", "NaN", "inf", "1/0", "0/0", "x", "", "1/8/2",
        ] {
            let err = bad.parse::<GpuShare>().unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "invalid GPU share '{bad}'; expected a number in [1/1024, 1] such as 0.125 \
                     or 1/8 (an eighth of a GPU)"
                )
            );
        }
        assert!(GpuShare::new(f64::NAN).is_err());
    }

    proptest::proptest! {
        #[test]
        fn every_accepted_share_is_in_bounds(value in proptest::num::f64::ANY) {
            if let Ok(share) = GpuShare::new(value) {
                proptest::prop_assert!((GpuShare::MIN..=1.0).contains(&share.get()));
            }
        }
    }
}
