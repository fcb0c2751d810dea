//! Enumerations with one spelling each, parsed one way from files, flags and CSVs.

use std::fmt;
use std::str::FromStr;

/// An enumeration whose values users write by name (`flex`, `shuffled`, `autodiff`).
///
/// Every value has exactly one name; [`parse_name`] accepts it trimmed and in any case, and
/// its error lists the valid names. [`std::fmt::Display`] and [`std::str::FromStr`] of the
/// types below go through these, so a configuration file, a flag and a results CSV agree.
pub trait Name: Copy + Eq + 'static {
    /// What the values name, for messages (`backend`).
    const WHAT: &'static str;
    /// Every value, in the order they are listed to users.
    const ALL: &'static [Self];

    /// The value's name (`wgpu`).
    fn name(self) -> &'static str;

    /// Every value's name, in [`Name::ALL`]'s order.
    fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|v| v.name()).collect()
    }
}

/// A name that is none of the valid ones (`--backend cuda2`, `order = "random"`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{value}'; expected one of: {}", .valid.join(", "))]
pub struct UnknownNameError {
    /// What was being named (`backend`).
    pub what: &'static str,
    /// The text given.
    pub value: String,
    /// The valid names.
    pub valid: Vec<&'static str>,
}

impl UnknownNameError {
    /// `one of: a, b, c`, for messages that put the valid names after a location.
    pub fn expected(&self) -> String {
        format!("one of: {}", self.valid.join(", "))
    }
}

/// Parses a name of `T`: surrounding whitespace is ignored and case does not matter.
pub fn parse_name<T: Name>(text: &str) -> Result<T, UnknownNameError> {
    let wanted = text.trim();
    T::ALL
        .iter()
        .copied()
        .find(|value| value.name().eq_ignore_ascii_case(wanted))
        .ok_or_else(|| UnknownNameError {
            what: T::WHAT,
            value: text.to_owned(),
            valid: T::names(),
        })
}

/// A `clap` value parser for a [`Name`]: parses it the way configuration files do (trimmed,
/// any case, the same error) and lists its values in `--help`.
#[cfg(feature = "clap")]
#[derive(Debug, Clone, Copy)]
pub struct NameParser<T>(std::marker::PhantomData<T>);

#[cfg(feature = "clap")]
impl<T> NameParser<T> {
    /// The parser.
    pub fn new() -> Self {
        Self(std::marker::PhantomData)
    }
}

#[cfg(feature = "clap")]
impl<T> Default for NameParser<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "clap")]
impl<T: Name + Send + Sync> clap::builder::TypedValueParser for NameParser<T> {
    type Value = T;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let flag = arg.map_or_else(String::new, |a| format!("--{}: ", a.get_id()));
        parse_name(&value.to_string_lossy()).map_err(|e| {
            clap::Error::raw(clap::error::ErrorKind::InvalidValue, format!("{flag}{e}\n"))
        })
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            T::ALL
                .iter()
                .map(|v| clap::builder::PossibleValue::new(v.name())),
        ))
    }
}

/// Declares a [`Name`] enumeration with `Display` and `FromStr` going through its names.
macro_rules! names {
    (
        $(#[$meta:meta])*
        pub enum $ty:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $name:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $ty {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $ty {
            /// The value's name ([`Name::name`]), in a `const` context too.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $name, )+
                }
            }
        }

        impl Name for $ty {
            const WHAT: &'static str = $what;
            const ALL: &'static [Self] = &[$(Self::$variant),+];

            fn name(self) -> &'static str {
                self.as_str()
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl FromStr for $ty {
            type Err = UnknownNameError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                parse_name(text)
            }
        }
    };
}

names! {
    /// The Burn backends a run can train on.
    pub enum BackendKind ("backend") {
        /// Burn 0.22's pure-Rust CPU backend, the default CPU backend.
        Flex = "flex",
        /// Burn's ndarray CPU backend (deprecated by Burn; kept because users ask for it).
        Ndarray = "ndarray",
        /// GPU through wgpu: Vulkan, Metal, DX12 (lavapipe runs it on the CPU).
        Wgpu = "wgpu",
    }
}

impl BackendKind {
    /// True for the backends that run on a GPU, where a GPU share can be enforced.
    pub fn is_gpu(self) -> bool {
        self == Self::Wgpu
    }
}

names! {
    /// Which of the study's two implementations a run trains.
    #[derive(Default)]
    pub enum Implementation ("implementation") {
        /// The framework implementation, the study's Keras network, written with Burn.
        #[default]
        Burn = "burn",
        /// The study's hand-written loops with their unusual update order, in plain Rust.
        Manual = "manual",
    }
}

names! {
    /// The order an epoch visits the training images in.
    pub enum Order ("training order") {
        /// A fresh permutation every epoch, drawn from the run's seed (Keras' `fit` default).
        Shuffled = "shuffled",
        /// The file's order (the study's hand-written loops).
        File = "file",
    }
}

impl Order {
    /// The order a run takes when none is given: `shuffled` for the Burn MLP (what Keras'
    /// `fit` does), `file` for the hand-written rule (what the study's loops did).
    pub fn default_for(implementation: Implementation) -> Self {
        match implementation {
            Implementation::Burn => Self::Shuffled,
            Implementation::Manual => Self::File,
        }
    }
}

names! {
    /// How the Burn MLP takes its training steps, as a configuration or flag asks for it.
    #[derive(Default)]
    pub enum Step ("training step") {
        /// One backend operation runs a whole chunk of SGD steps: the faster step on every
        /// backend, for every width and batch size. The default.
        #[default]
        Fused = "fused",
        /// Burn's autodiff graph and tensor operations, about 25 per step: the framework
        /// reference the fused step is tested against.
        Autodiff = "autodiff",
    }
}

names! {
    /// The image datasets a run can train on: 28 x 28 grey images in ten classes, in MNIST's
    /// IDX format and sizes (60,000 training and 10,000 test images).
    #[derive(Default)]
    pub enum Dataset ("dataset") {
        /// MNIST's handwritten digits, the study's dataset. The default.
        #[default]
        Mnist = "mnist",
        /// Zalando's Fashion-MNIST: clothing in ten classes, harder than the digits.
        FashionMnist = "fashion-mnist",
    }
}

names! {
    /// How a share of a GPU is emulated.
    #[derive(Default)]
    pub enum ShareMethod ("GPU share method") {
        /// The device's compute is limited the way a MIG slice limits it: in space (how many
        /// compute units the work may use), at full speed. The default.
        #[default]
        Spatial = "spatial",
        /// The device is lent for a share of the time (a duty cycle), as time-slicing
        /// schedulers lend it.
        TimeSlice = "time-slice",
    }
}

names! {
    /// The training step a run actually took: the `step` column of the results.
    ///
    /// Each name starts with what a user asks for (`--step fused`, `--step autodiff`,
    /// `--implementation manual`); the variant the run took follows in parentheses.
    pub enum StepKind ("step") {
        /// The fused operation ([`Step::Fused`]).
        Fused = "fused",
        /// Autodiff ([`Step::Autodiff`]), every hidden weight through the graph, as Keras does.
        Dense = "autodiff (dense)",
        /// Autodiff ([`Step::Autodiff`]), only the weight rows of the pixels lit in the batch
        /// through the graph.
        LitPixels = "autodiff (lit pixels)",
        /// The hand-written rule ([`Implementation::Manual`]), restructured for speed: what the
        /// runner trains.
        Fast = "manual",
        /// The hand-written rule written literally (tests and benchmarks).
        Reference = "manual (literal)",
    }
}

impl StepKind {
    /// The step named `text` in a results file, including the names replay 0.2.0 and
    /// earlier wrote (`dense`, `lit-pixels`, `fast`, `reference`), so that old rows group
    /// with new ones; `None` for any other text.
    pub fn from_column(text: &str) -> Option<Self> {
        const RENAMED: [(&str, StepKind); 4] = [
            ("dense", StepKind::Dense),
            ("lit-pixels", StepKind::LitPixels),
            ("fast", StepKind::Fast),
            ("reference", StepKind::Reference),
        ];
        parse_name::<Self>(text).ok().or_else(|| {
            RENAMED
                .iter()
                .find(|(old, _)| old.eq_ignore_ascii_case(text.trim()))
                .map(|&(_, kind)| kind)
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn round_trip<T: Name + FromStr<Err = UnknownNameError> + fmt::Display + fmt::Debug>() {
        for &value in T::ALL {
            assert_eq!(value.to_string().parse::<T>().unwrap(), value);
            assert_eq!(value.name().to_uppercase().parse::<T>().unwrap(), value);
            assert_eq!(format!("  {value} ").parse::<T>().unwrap(), value);
        }
    }

    #[test]
    fn every_name_round_trips_in_any_case() {
        round_trip::<BackendKind>();
        round_trip::<Implementation>();
        round_trip::<Order>();
        round_trip::<Step>();
        round_trip::<StepKind>();
        round_trip::<ShareMethod>();
        round_trip::<Dataset>();
        const STUDY_DATASET: &str = Dataset::Mnist.as_str();
        assert_eq!(STUDY_DATASET, Dataset::Mnist.name());
    }

    #[test]
    fn unknown_names_list_the_valid_ones() {
        let err = "cuda2".parse::<BackendKind>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown backend 'cuda2'; expected one of: flex, ndarray, wgpu"
        );
        assert_eq!(err.expected(), "one of: flex, ndarray, wgpu");
        let err = "keras".parse::<Implementation>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown implementation 'keras'; expected one of: burn, manual"
        );
        let err = "random".parse::<Order>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown training order 'random'; expected one of: shuffled, file"
        );
        let err = "".parse::<Step>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown training step ''; expected one of: fused, autodiff"
        );
        // `auto` (0.3.0 and earlier) always meant `fused`; it is gone.
        let err = "auto".parse::<Step>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown training step 'auto'; expected one of: fused, autodiff"
        );
        assert_eq!(Step::default(), Step::Fused);
    }

    #[test]
    fn steps_read_from_results_include_the_names_of_older_versions() {
        assert_eq!(StepKind::from_column("fused"), Some(StepKind::Fused));
        assert_eq!(
            StepKind::from_column("Autodiff (Lit Pixels)"),
            Some(StepKind::LitPixels)
        );
        assert_eq!(
            StepKind::from_column("lit-pixels"),
            Some(StepKind::LitPixels)
        );
        assert_eq!(StepKind::from_column("dense"), Some(StepKind::Dense));
        assert_eq!(StepKind::from_column(" fast"), Some(StepKind::Fast));
        assert_eq!(
            StepKind::from_column("reference"),
            Some(StepKind::Reference)
        );
        assert_eq!(StepKind::from_column(""), None);
        assert_eq!(StepKind::from_column("autodiff"), None);
        // What a user asks for is where the step's name starts.
        for &kind in StepKind::ALL {
            let asked = kind.name().split(' ').next().unwrap_or_default();
            assert!(
                asked.parse::<Step>().is_ok() || asked.parse::<Implementation>().is_ok(),
                "{kind}"
            );
        }
    }

    #[test]
    fn only_wgpu_is_a_gpu_and_orders_follow_the_implementation() {
        assert_eq!(
            BackendKind::ALL
                .iter()
                .filter(|b| b.is_gpu())
                .collect::<Vec<_>>(),
            [&BackendKind::Wgpu]
        );
        assert_eq!(Order::default_for(Implementation::Burn), Order::Shuffled);
        assert_eq!(Order::default_for(Implementation::Manual), Order::File);
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_or_gives_an_error_that_names_it(text in ".*") {
            match text.parse::<BackendKind>() {
                Ok(kind) => proptest::prop_assert!(kind.name().eq_ignore_ascii_case(text.trim())),
                Err(err) => proptest::prop_assert_eq!(err.value, text),
            }
        }
    }
}
