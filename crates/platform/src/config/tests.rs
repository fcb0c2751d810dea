//! Tests of the shipped configurations (they parse, and their tariffs and costs match the
//! study's) and, in [`edited`], of what each mistake in a file says.

use replay_core::{BackendKind, GpuShare, Implementation, Order, Step};

use super::*;
use crate::{Billing, DEFAULT_SEED};

/// The workspace's `configs/` folder.
fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
}

fn shipped(file: &str) -> Config {
    Config::load(configs_dir().join(file)).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// A small valid file; the error tests change one line of it. Line numbers matter.
const BASE: &str = r#"[config]
platform = "Test Cloud"
name = "t.1"
description = "a test configuration"

[hardware]
vcpus = 4
ram_gb = 16
gpu = "NVIDIA A100"
gpu_count = 0.125

[run]
threads = 2
backend = "wgpu"

[pricing]
model = "per_second"
units = 18
unit_price = 0.0012
currency = "RUB"
source = "test"
source_date = "2023"
"#;

/// `BASE` with `from` replaced by `to` (which must occur), parsed as `g2mig.toml`.
fn with(from: &str, to: &str) -> Result<Config, ConfigError> {
    assert!(BASE.contains(from), "BASE has no {from:?}");
    Config::from_str(&BASE.replacen(from, to, 1), "g2mig.toml")
}

fn message(from: &str, to: &str) -> String {
    with(from, to).unwrap_err().to_string()
}

#[test]
fn every_shipped_config_parses_and_validates() {
    let loaded = load_dir(configs_dir()).unwrap();
    for (path, result) in &loaded {
        if let Err(e) = result {
            panic!("{}: {e}", path.display());
        }
    }
    assert_eq!(
        loaded.len(),
        15,
        "{:?}",
        loaded.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    let mut names: Vec<_> = loaded
        .iter()
        .map(|(_, c)| c.as_ref().unwrap().name.clone())
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(
        names.len(),
        15,
        "configuration names must be unique: {names:?}"
    );
}

#[test]
fn g2mig_is_an_eighth_of_an_a100_at_18_units() {
    let c = shipped("g2mig.toml");
    assert_eq!(c.platform, "Yandex DataSphere");
    assert_eq!(c.name, "g2.mig");
    assert_eq!(c.hardware.gpu.as_deref(), Some("NVIDIA A100"));
    assert_eq!(c.hardware.gpu_count, 0.125);
    assert_eq!(c.hardware.vcpus, 4);
    assert_eq!(c.hardware.ram_gb, 16.0);
    let Billing::PerSecond {
        units,
        unit_price,
        background_units,
    } = c.pricing.billing
    else {
        panic!("g2.mig is billed per second, got {:?}", c.pricing.billing);
    };
    assert_eq!(
        (units, unit_price, background_units),
        (18.0, 0.0012, Some(9.0))
    );
    // Defaults resolved from the hardware.
    assert_eq!(c.run.backend, BackendKind::Wgpu);
    assert_eq!(c.run.step, Step::Fused);
    assert_eq!(c.run.threads, 4);
    assert_eq!(c.run.gpu_share.map(GpuShare::get), Some(0.125));
    assert_eq!(c.run.implementation, Implementation::Burn);
    assert_eq!(c.run.order, Order::Shuffled);
    assert_eq!(
        (c.run.epochs, c.run.batch_size, c.run.seed),
        (1, 1, DEFAULT_SEED)
    );
    assert!(c.run.workload().is_study());
    assert_eq!(c.run.learning_rate, 0.1);
    let study = c.study.get(Implementation::Burn).unwrap();
    assert_eq!((study.wall_s, study.test_accuracy_pct), (93.0, Some(91.27)));
    assert_eq!(
        c.study.get(Implementation::Manual).unwrap().accuracy_epochs,
        2
    );
}

#[test]
fn datasphere_files_match_the_studys_tariff_table() {
    // (file, RUB per second, background RUB per second) from STUDY.md.
    let table = [
        ("c14.toml", 0.0048, 0.0024),
        ("c18.toml", 0.0096, 0.0048),
        ("c132.toml", 0.0384, 0.0192),
        ("c180.toml", 0.0960, 0.0480),
        ("g11.toml", 0.0864, 0.0432),
        ("g12.toml", 0.1728, 0.0864),
        ("g14.toml", 0.3456, 0.1728),
        ("g2mig.toml", 0.0216, 0.0108),
        ("g21.toml", 0.1392, 0.0696),
        ("g22.toml", 0.2784, 0.1392),
        ("g24.toml", 0.5568, 0.2784),
        ("g28.toml", 1.1136, 0.5568),
    ];
    for (file, per_s, background_per_s) in table {
        let cost = shipped(file).pricing.cost(1.0);
        assert!(close(cost.cost, per_s), "{file}: {} RUB/s", cost.cost);
        assert!(
            close(cost.cost_background.unwrap(), background_per_s),
            "{file}"
        );
        assert_eq!(cost.currency, "RUB");
    }
}

#[test]
fn cpu_configs_default_to_flex_and_no_gpu_share() {
    let c = shipped("c132.toml");
    assert_eq!(
        (c.run.backend, c.run.threads, c.run.gpu_share),
        (BackendKind::Flex, 32, None)
    );
    let g = shipped("g14.toml");
    assert_eq!(
        (g.hardware.ram_gb, g.hardware.ram_gb_max),
        (192.0, Some(384.0))
    );
    assert_eq!(g.run.gpu_share, Some(GpuShare::WHOLE));
    let vk = shipped("vk-standard-4-8.toml");
    assert_eq!(
        (vk.run.backend, vk.run.gpu_share),
        (BackendKind::Flex, None)
    );
}

#[test]
fn g2mig_for_93_s_costs_2_0088_rub() {
    let cost = shipped("g2mig.toml").pricing.cost(93.0);
    assert!(close(cost.cost, 93.0 * 18.0 * 0.0012), "{cost:?}");
    assert!(close(cost.cost, 2.0088), "{cost:?}");
    assert!(close(cost.cost_background.unwrap(), 1.0044), "{cost:?}");
    assert_eq!(
        cost.billing,
        "per_second 18 units x 0.0012 RUB/s (background 9 units)"
    );
    assert!(cost.source.ends_with("(2023)"), "{}", cost.source);
}

#[test]
fn c132_for_46_s_costs_1_7664_rub() {
    let cost = shipped("c132.toml").pricing.cost(46.0);
    assert!(close(cost.cost, 1.7664), "{cost:?}");
    assert!(close(cost.cost_background.unwrap(), 0.8832), "{cost:?}");
}

#[test]
fn vk_standard_4_8_for_68_s_costs_the_exact_fraction_or_two_started_minutes() {
    let mut pricing = shipped("vk-standard-4-8.toml").pricing;
    let exact = pricing.cost(68.0);
    assert!(close(exact.cost, 68.0 / 60.0 * 0.19), "{exact:?}");
    assert!(close(exact.cost, 0.215_333_333_333), "{exact:?}");
    assert_eq!(exact.cost_background, None);
    assert_eq!(exact.billing, "per_minute 0.19 RUB/min (exact fraction)");
    let Billing::PerMinute {
        round_up_to_minute, ..
    } = &mut pricing.billing
    else {
        panic!("VK is billed per minute");
    };
    *round_up_to_minute = true;
    let rounded = pricing.cost(68.0);
    assert!(close(rounded.cost, 0.38), "{rounded:?}");
    assert_eq!(rounded.billing, "per_minute 0.19 RUB/min (started minutes)");
}

#[test]
fn vk_with_an_a100_adds_the_gpus_hourly_price() {
    let c = shipped("vk-standard-4-8-a100.toml");
    assert_eq!(c.run.gpu_share, Some(GpuShare::WHOLE));
    let cost = c.pricing.cost(68.0);
    assert!(
        close(cost.cost, 68.0 / 60.0 * 0.19 + 68.0 / 3600.0 * 204.2),
        "{cost:?}"
    );
    assert!(close(cost.cost, 4.072_444_444_444), "{cost:?}");
}

#[test]
fn colab_free_costs_nothing() {
    let cost = shipped("colab-free.toml").pricing.cost(3600.0);
    assert_eq!(cost.cost, 0.0);
    assert_eq!(cost.cost_background, None);
    assert_eq!(cost.billing, "free");
}

mod edited;
