//! Tests that change one line of a small valid file: what each mistake says (key, line, valid
//! values), and the defaults that follow from what is left out.

use super::*;

#[test]
fn the_base_text_is_valid() {
    let c = with("threads = 2", "threads = 2").unwrap();
    assert_eq!(c.origin, "g2mig.toml");
    assert_eq!(c.run.threads, 2);
    assert!(c.study.is_empty());
}

#[test]
fn an_unknown_key_is_named_with_its_line_and_the_valid_keys() {
    let err = with("ram_gb = 16", "ram_gb = 16\nram = 16").unwrap_err();
    assert_eq!(err.key(), Some("hardware.ram"));
    assert_eq!(err.line(), Some(9));
    assert_eq!(
        err.to_string(),
        "unknown key 'ram' at g2mig.toml:9 (hardware.ram); expected one of: \
         vcpus, cpu, ram_gb, ram_gb_max, gpu, gpu_count"
    );
    assert_eq!(
        message("[run]", "[runs]"),
        "unknown key 'runs' at g2mig.toml:12 (runs); expected one of: \
         config, hardware, run, pricing, study"
    );
    assert_eq!(
        message(
            "source_date = \"2023\"",
            "source_date = \"2023\"\n[study.keras]\nwall_s = 1"
        ),
        "unknown key 'keras' at g2mig.toml:23 (study.keras); expected one of: burn, manual"
    );
}

#[test]
fn a_missing_required_key_is_named_at_its_tables_line() {
    assert_eq!(
        message("vcpus = 4\n", ""),
        "missing required key 'vcpus' at g2mig.toml:6 (hardware.vcpus)"
    );
    let no_pricing = BASE.split("[pricing]").next().unwrap();
    let err = Config::from_str(no_pricing, "g2mig.toml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "missing required key 'pricing' at g2mig.toml (pricing)"
    );
    assert_eq!(
        message("units = 18\n", ""),
        "missing required key 'units' for billing model 'per_second' at g2mig.toml:16 \
         (pricing.units); expected a finite number >= 0"
    );
}

#[test]
fn a_wrong_type_names_the_key_and_the_expected_type() {
    assert_eq!(
        message("vcpus = 4", "vcpus = \"four\""),
        "wrong type: found string \"four\" at g2mig.toml:7 (hardware.vcpus); \
         expected a whole number"
    );
    assert_eq!(
        message("vcpus = 4", "vcpus = 4.5"),
        "wrong type: found floating point `4.5` at g2mig.toml:7 (hardware.vcpus); \
         expected a whole number"
    );
    assert_eq!(
        message("unit_price = 0.0012", "unit_price = \"cheap\""),
        "wrong type: found string \"cheap\" at g2mig.toml:19 (pricing.unit_price); \
         expected a number"
    );
}

#[test]
fn impossible_values_are_named_with_their_line_and_valid_range() {
    let cases = [
        (
            "vcpus = 4",
            "vcpus = 0",
            "invalid value 0 at g2mig.toml:7 (hardware.vcpus); expected a whole number >= 1",
        ),
        (
            "vcpus = 4",
            "vcpus = -4",
            "invalid value -4 at g2mig.toml:7 (hardware.vcpus); expected a whole number >= 1",
        ),
        (
            "threads = 2",
            "threads = 0",
            "invalid value 0 at g2mig.toml:13 (run.threads); expected a whole number >= 1",
        ),
        (
            "threads = 2",
            "gpu_share = 1.5",
            "invalid value 1.5 at g2mig.toml:13 (run.gpu_share); expected a number in [1/1024, 1]",
        ),
        (
            "threads = 2",
            "gpu_share = 0",
            "invalid value 0 at g2mig.toml:13 (run.gpu_share); expected a number in [1/1024, 1]",
        ),
        (
            "threads = 2",
            "gpu_share = nan",
            "invalid value nan at g2mig.toml:13 (run.gpu_share); expected a number in [1/1024, 1]",
        ),
        (
            "threads = 2",
            "gpu_share = 1e-300",
            "invalid value 1e-300 at g2mig.toml:13 (run.gpu_share); \
             expected a number in [1/1024, 1]",
        ),
        (
            "threads = 2",
            "step = \"jit\"",
            "unknown training step 'jit' at g2mig.toml:13 (run.step); \
             expected one of: fused, autodiff",
        ),
        (
            "backend = \"wgpu\"",
            "backend = \"cuda2\"",
            "unknown backend 'cuda2' at g2mig.toml:14 (run.backend); \
             expected one of: flex, ndarray, wgpu",
        ),
        (
            "threads = 2",
            "implementation = \"keras\"",
            "unknown implementation 'keras' at g2mig.toml:13 (run.implementation); \
             expected one of: burn, manual",
        ),
        (
            "threads = 2",
            "order = \"random\"",
            "unknown training order 'random' at g2mig.toml:13 (run.order); \
             expected one of: shuffled, file",
        ),
        (
            "threads = 2",
            "epochs = 0",
            "invalid value 0 at g2mig.toml:13 (run.epochs); expected a whole number >= 1",
        ),
        (
            "threads = 2",
            "batch_size = 0",
            "invalid value 0 at g2mig.toml:13 (run.batch_size); expected a whole number \
             from 1 to 4096",
        ),
        (
            "threads = 2",
            "batch_size = 4097",
            "invalid value 4097 at g2mig.toml:13 (run.batch_size); expected a whole number \
             from 1 to 4096",
        ),
        (
            "threads = 2",
            "hidden_units = 0",
            "invalid value 0 at g2mig.toml:13 (run.hidden_units); expected a whole number \
             from 1 to 4096",
        ),
        (
            "threads = 2",
            "dataset = \"cifar\"",
            "unknown dataset 'cifar' at g2mig.toml:13 (run.dataset); expected one of: \
             mnist, fashion-mnist",
        ),
        (
            "threads = 2",
            "learning_rate = 0.0",
            "invalid value 0.0 at g2mig.toml:13 (run.learning_rate); \
             expected a finite number > 0",
        ),
        (
            "threads = 2",
            "learning_rate = -0.1",
            "invalid value -0.1 at g2mig.toml:13 (run.learning_rate); \
             expected a finite number > 0",
        ),
        (
            "threads = 2",
            "seed = -1",
            "invalid value -1 at g2mig.toml:13 (run.seed); expected a whole number >= 0",
        ),
        (
            "gpu_count = 0.125",
            "gpu_count = -1",
            "invalid value -1 at g2mig.toml:10 (hardware.gpu_count); \
             expected 0 or a number >= 1/1024 (0.125 is 1/8 of a GPU)",
        ),
        (
            "gpu_count = 0.125",
            "gpu_count = 0",
            "GPU 'NVIDIA A100' has no gpu_count at g2mig.toml:10 (hardware.gpu_count); \
             expected a number > 0 (fractions allowed: 0.125 is 1/8 of a GPU)",
        ),
        (
            "gpu = \"NVIDIA A100\"\n",
            "",
            "gpu_count = 0.125 without a GPU model at g2mig.toml:9 (hardware.gpu); \
             expected a model name such as \"NVIDIA A100\" (or gpu_count = 0)",
        ),
        (
            "ram_gb = 16",
            "ram_gb = 0",
            "invalid value 0 at g2mig.toml:8 (hardware.ram_gb); expected a finite number > 0",
        ),
        (
            "ram_gb = 16",
            "ram_gb = 16\nram_gb_max = 8",
            "invalid value 8 at g2mig.toml:9 (hardware.ram_gb_max); \
             expected a finite number >= hardware.ram_gb (16)",
        ),
        (
            "unit_price = 0.0012",
            "unit_price = -0.0012",
            "invalid value -0.0012 at g2mig.toml:19 (pricing.unit_price); \
             expected a finite number >= 0",
        ),
        (
            "units = 18",
            "units = inf",
            "invalid value inf at g2mig.toml:18 (pricing.units); expected a finite number >= 0",
        ),
        (
            "model = \"per_second\"",
            "model = \"per_hour\"",
            "unknown billing model 'per_hour' at g2mig.toml:17 (pricing.model); \
             expected one of: per_second, per_minute, free",
        ),
        (
            "units = 18",
            "units = 18\nprice_per_minute = 0.19",
            "key 'price_per_minute' does not apply to billing model 'per_second' at \
             g2mig.toml:19 (pricing.price_per_minute); expected only the common keys and \
             this model's: units, unit_price, background_units",
        ),
        (
            "name = \"t.1\"",
            "name = \"../t 1\"",
            "invalid value \"../t 1\" at g2mig.toml:3 (config.name); expected letters, \
             digits, '.', '-' and '_', not starting with '.' (it names the results CSV)",
        ),
        (
            "platform = \"Test Cloud\"",
            "platform = \" \"",
            "empty text at g2mig.toml:2 (config.platform); expected a non-empty string",
        ),
        (
            "source_date = \"2023\"",
            "source_date = \"2023\"\n[study.burn]\nwall_s = 0",
            "invalid value 0 at g2mig.toml:24 (study.burn.wall_s); \
             expected a finite number > 0",
        ),
        (
            "source_date = \"2023\"",
            "source_date = \"2023\"\n[study.manual]\nwall_s = 1\ntest_accuracy_pct = 101",
            "invalid value 101 at g2mig.toml:25 (study.manual.test_accuracy_pct); \
             expected a percentage in [0, 100]",
        ),
    ];
    for (from, to, expected) in cases {
        let err = with(from, to).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { .. }), "{to}: {err:?}");
        assert_eq!(err.to_string(), expected, "for {to:?}");
    }
}

#[test]
fn a_per_minute_model_needs_its_price_and_refuses_per_second_keys() {
    let per_minute = "model = \"per_minute\"\nprice_per_minute = 0.19\nround_up_to_minute = true";
    let c = with(
        "model = \"per_second\"\nunits = 18\nunit_price = 0.0012",
        per_minute,
    )
    .unwrap();
    assert!(close(c.pricing.cost(68.0).cost, 0.38));
    assert_eq!(
        message(
            "model = \"per_second\"\nunits = 18\nunit_price = 0.0012",
            "model = \"per_minute\""
        ),
        "missing required key 'price_per_minute' for billing model 'per_minute' at \
         g2mig.toml:16 (pricing.price_per_minute); expected a finite number >= 0"
    );
    assert_eq!(
        message(
            "model = \"per_second\"\nunits = 18\nunit_price = 0.0012",
            "model = \"free\"\nunits = 1"
        ),
        "key 'units' does not apply to billing model 'free' at g2mig.toml:18 \
         (pricing.units); expected only the common keys and this model's: none"
    );
}

#[test]
fn run_defaults_follow_the_hardware_and_the_implementation() {
    let c = with(
        "threads = 2\nbackend = \"wgpu\"",
        "implementation = \"manual\"",
    )
    .unwrap();
    assert_eq!(c.run.backend, BackendKind::Wgpu);
    assert_eq!(c.run.threads, 4);
    assert_eq!(c.run.gpu_share.map(GpuShare::get), Some(0.125));
    assert_eq!(c.run.order, Order::File);
    let cpu = with("gpu = \"NVIDIA A100\"\ngpu_count = 0.125\n", "").unwrap();
    assert_eq!(cpu.hardware.gpu_count, 0.0);
    assert_eq!(cpu.run.gpu_share, None);
    assert_eq!(
        cpu.run.backend,
        BackendKind::Wgpu,
        "an explicit backend is kept"
    );
    let no_run = with("[run]\nthreads = 2\nbackend = \"wgpu\"\n", "").unwrap();
    assert_eq!(
        (no_run.run.backend, no_run.run.threads),
        (BackendKind::Wgpu, 4)
    );
}

#[test]
fn names_in_files_parse_as_flags_do_in_any_case() {
    let c = with(
        "backend = \"wgpu\"",
        "backend = \"WGPU\"\nstep = \" Autodiff \"",
    )
    .unwrap();
    assert_eq!(
        (c.run.backend, c.run.step),
        (BackendKind::Wgpu, Step::Autodiff)
    );
}

#[test]
fn a_toml_syntax_error_names_the_line() {
    let err = with("vcpus = 4", "vcpus = ").unwrap_err();
    assert!(matches!(err, ConfigError::Parse { .. }), "{err:?}");
    assert_eq!(err.line(), Some(7));
    assert_eq!(
        err.to_string(),
        "string values must be quoted, expected literal string at g2mig.toml:7 \
         (hardware.vcpus)"
    );
    assert_eq!(
        message("vcpus = 4", "vcpus = 4\nvcpus = 5"),
        "duplicate key 'vcpus' at g2mig.toml:8; expected each key once"
    );
    assert_eq!(
        message("gpu_count = 0.125", "gpu_count = [1]"),
        "wrong type: found an array at g2mig.toml:10 (hardware.gpu_count); expected a number"
    );
}

#[test]
fn a_missing_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.toml");
    let err = Config::load(&path).unwrap_err();
    assert!(matches!(err, ConfigError::Io { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("cannot read config '{}': ", path.display())),
        "{text}"
    );
}

#[test]
fn load_names_the_path_and_load_dir_keeps_each_files_result() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.toml"), BASE).unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        BASE.replace("vcpus = 4", "vcpus = 0"),
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a config").unwrap();
    let loaded = load_dir(dir.path()).unwrap();
    let names: Vec<_> = loaded
        .iter()
        .map(|(p, _)| p.file_name().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["bad.toml", "good.toml"]);
    let err = loaded[0].1.as_ref().unwrap_err().to_string();
    let bad = dir.path().join("bad.toml");
    assert!(
        err.contains(&format!("at {}:7 (hardware.vcpus)", bad.display())),
        "{err}"
    );
    assert!(loaded[1].1.is_ok());
    assert!(matches!(
        load_dir(dir.path().join("missing")),
        Err(ConfigError::Io { .. })
    ));
    let empty = tempfile::tempdir().unwrap();
    let err = config_files(empty.path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "no configuration files (*.toml) in '{}'",
            empty.path().display()
        )
    );
}
