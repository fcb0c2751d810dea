//! A sweep's split into disjoint shards, one per node of a cluster: `--shard K/N`, or a Slurm
//! job array's task.

use std::fmt;
use std::str::FromStr;

/// Shard `index` of `count`: the items whose position in the sweep leaves remainder `index`
/// when divided by `count` (round robin, so that every shard gets a similar mix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which shard, from 0.
    pub index: usize,
    /// How many shards there are, at least 1.
    pub count: usize,
}

/// A shard that is written wrongly, or Slurm's array variables set inconsistently.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ShardError(String);

impl Shard {
    /// Whether the item at `index` of the sweep is this shard's.
    pub fn takes(&self, index: usize) -> bool {
        index % self.count == self.index
    }

    /// The shard of a Slurm job array's task, from `SLURM_ARRAY_TASK_ID`,
    /// `SLURM_ARRAY_TASK_MIN`, `SLURM_ARRAY_TASK_COUNT` and (when set)
    /// `SLURM_ARRAY_TASK_STEP`, read through `var`; `None` when none of them is set.
    pub fn from_slurm(var: impl Fn(&str) -> Option<String>) -> Result<Option<Shard>, ShardError> {
        let names = [
            "SLURM_ARRAY_TASK_ID",
            "SLURM_ARRAY_TASK_MIN",
            "SLURM_ARRAY_TASK_COUNT",
        ];
        let values: Vec<Option<String>> = names.iter().map(|n| var(n)).collect();
        if values.iter().all(Option::is_none) {
            return Ok(None);
        }
        let number = |name: &str, value: &Option<String>| -> Result<usize, ShardError> {
            let text = value.as_deref().ok_or_else(|| {
                ShardError(format!(
                    "{name} is not set, but other Slurm array variables are; run inside a job \
                     array (sbatch --array) or give --shard K/N"
                ))
            })?;
            text.trim().parse().map_err(|_| {
                ShardError(format!("{name} is '{text}'; expected a whole number >= 0"))
            })
        };
        let id = number(names[0], &values[0])?;
        let min = number(names[1], &values[1])?;
        let count = number(names[2], &values[2])?;
        let step = match var("SLURM_ARRAY_TASK_STEP") {
            Some(text) => number("SLURM_ARRAY_TASK_STEP", &Some(text))?.max(1),
            None => 1,
        };
        if id < min || (id - min) % step != 0 || (id - min) / step >= count || count == 0 {
            return Err(ShardError(format!(
                "Slurm array task {id} is not one of {count} tasks from {min} in steps of \
                 {step}"
            )));
        }
        Ok(Some(Shard {
            index: (id - min) / step,
            count,
        }))
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    /// `K/N`: shard K (from 0) of N.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || {
            ShardError(format!(
                "invalid shard '{text}'; expected K/N with 0 <= K < N, e.g. 0/3"
            ))
        };
        let (k, n) = text.split_once('/').ok_or_else(invalid)?;
        let index: usize = k.trim().parse().map_err(|_| invalid())?;
        let count: usize = n.trim().parse().map_err(|_| invalid())?;
        if index >= count {
            return Err(invalid());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn shards_parse_as_k_of_n_and_refuse_the_impossible() {
        assert_eq!(
            "2/3".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 3 }
        );
        assert_eq!(Shard { index: 0, count: 1 }.to_string(), "0/1");
        for bad in ["3/3", "1", "a/2", "1/0", "-1/2", ""] {
            let err = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(err.contains(&format!("invalid shard '{bad}'")), "{err}");
        }
    }

    #[test]
    fn a_slurm_array_task_is_its_shard() {
        assert_eq!(Shard::from_slurm(env(&[])).unwrap(), None);
        let task = |id| {
            let pairs = [
                ("SLURM_ARRAY_TASK_ID", id),
                ("SLURM_ARRAY_TASK_MIN", "4"),
                ("SLURM_ARRAY_TASK_COUNT", "3"),
            ];
            Shard::from_slurm(env(&pairs))
        };
        assert_eq!(task("5").unwrap(), Some(Shard { index: 1, count: 3 }));
        assert!(
            task("7")
                .unwrap_err()
                .to_string()
                .contains("task 7 is not one of 3")
        );
        assert!(
            task("x")
                .unwrap_err()
                .to_string()
                .contains("SLURM_ARRAY_TASK_ID is 'x'")
        );
        let partial = Shard::from_slurm(env(&[("SLURM_ARRAY_TASK_ID", "1")])).unwrap_err();
        assert!(
            partial
                .to_string()
                .contains("SLURM_ARRAY_TASK_MIN is not set"),
            "{partial}"
        );
        let stepped = [
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
        ];
        assert_eq!(
            Shard::from_slurm(env(&stepped)).unwrap(),
            Some(Shard { index: 2, count: 3 })
        );
    }
}
