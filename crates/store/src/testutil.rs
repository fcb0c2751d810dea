//! Rows and lines for tests (feature `test-util`): a plausible [`ResultRow`], and its line as
//! a writer of an older header version wrote it.

use crate::header::HeaderVersion;
use crate::row::{ResultRow, Status};

/// A plausible row: g2.mig, burn on wgpu, MNIST with 28 hidden units, epoch 1, status ok; its
/// `host_cpu` holds a comma and quotes, so that CSV quoting is exercised.
pub fn sample_row() -> ResultRow {
    ResultRow {
        run_id: "run-1".to_string(),
        started_utc: "2025-01-31T12:00:00Z".to_string(),
        config: "g2.mig".to_string(),
        platform: "Yandex DataSphere".to_string(),
        implementation: "burn".to_string(),
        step: "fused".to_string(),
        order: "shuffled".to_string(),
        init_weights: "seeded".to_string(),
        backend: "wgpu".to_string(),
        device: "llvmpipe (LLVM 15.0.7, 256 bits)".to_string(),
        threads_requested: 4,
        threads_used: 2,
        gpu_share: Some(0.125),
        throttle_method: "time-slice".to_string(),
        ram_gb: 16.0,
        peak_rss_mib: 312.5,
        ram_exceeded: false,
        dataset: "mnist".to_string(),
        hidden_units: 28,
        batch_size: 1,
        learning_rate: 0.1,
        seed: 42,
        epoch: 1,
        samples: 60_000,
        wall_s: 93.0,
        user_s: 91.0,
        sys_s: 11.1,
        samples_per_s: 645.16,
        train_loss: Some(0.0314),
        train_accuracy: Some(0.8325),
        test_loss: Some(0.0167),
        test_accuracy: Some(0.9127),
        images: Some(60_000),
        train_s: Some(93.0),
        eval_s: Some(0.8),
        target_accuracy: None,
        target_reached: None,
        billing: "per-second".to_string(),
        price_source: "study, 2023: 0.0012 RUB per unit-second".to_string(),
        cost: 2.0088,
        cost_background: Some(1.0044),
        currency: "RUB".to_string(),
        host_cpu: "AMD EPYC, \"test\" edition".to_string(),
        host_cores: 2,
        version: "0.1.0 (abc1234)".to_string(),
        status: Status::Ok,
    }
}

/// The CSV line (with its line end) that a writer of header `version` wrote for `row`: the
/// cells of `version`'s columns, taken by name from `row`'s current line.
pub fn line_of(row: &ResultRow, version: HeaderVersion) -> String {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(true)
        .from_writer(Vec::new());
    let serialized = writer
        .serialize(row)
        .and_then(|()| writer.flush().map_err(csv::Error::from));
    let bytes = match (serialized, writer.into_inner()) {
        (Ok(()), Ok(bytes)) => bytes,
        _ => return String::new(),
    };
    let mut reader = csv::ReaderBuilder::new().from_reader(&bytes[..]);
    let header = reader.byte_headers().cloned().unwrap_or_default();
    let record = reader.byte_records().flatten().next().unwrap_or_default();
    let cells = version.columns().iter().map(|column| {
        let index = header.iter().position(|h| h == column.as_bytes());
        index.and_then(|i| record.get(i)).unwrap_or_default()
    });
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    if writer.write_record(cells).is_err() {
        return String::new();
    }
    writer
        .into_inner()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}
