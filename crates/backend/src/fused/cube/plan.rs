//! How one call's launches are shaped, planned on the host before any launch: which kernel
//! takes the steps, its units (threads) per cube, and how much work one cube does per launch.
//! Every limit a kernel relies on is counted here, in one place, and checked before launching:
//!
//! - **Shared memory**: the words each kernel declares ([`chunk_shared_words`],
//!   [`forward_shared_words`], [`update_shared_words`]) against the device's bytes per cube.
//! - **Loop budget**: Mesa's llvmpipe (lavapipe, the software Vulkan driver) ends a shader
//!   invocation's loops after 65,535 iterations in all, silently. Each launch is sized so that
//!   no unit runs more than [`LOOP_BUDGET`] iterations of the kernel's (non-unrolled) loops,
//!   counting every image as if all its pixels were lit. On a GPU the budget only sizes
//!   launches; on a CPU driver a step that cannot fit it is refused ([`PlanError`]).
//! - **Units per cube**: at least one, at most the device's; the kernels take any count (every
//!   loop over outputs, hidden units and pixels strides by the cube's units).

use super::super::{OUTPUTS, PIXELS};

/// Loop iterations one invocation may run, at most (lavapipe stops at 65,535).
pub(super) const LOOP_BUDGET: u32 = 60_000;

/// The widest network the one-cube kernel takes: its shared memory holds `units x N` partial
/// sums and the output layer (`N x 10`) twice.
pub(super) const CHUNK_MAX_HIDDEN: u32 = 64;

/// The largest step (images x hidden units) the one-cube kernel takes; bigger steps spread
/// over cubes.
pub(super) const CHUNK_MAX_WORK: u32 = 128;

/// Images whose entries one pass of the update kernel gathers in shared memory.
pub(super) const SEGMENT: u32 = 1024;

/// 32-bit words per image in the training set's buffer (four pixels to a word).
const WORDS: u32 = PIXELS as u32 / 4;

/// The device's limits a plan is made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Device {
    /// The smallest plane (warp, SIMD group) the device runs.
    pub plane_size: u32,
    /// The most units one cube may have.
    pub max_units_per_cube: u32,
    /// Bytes of shared memory one cube may use.
    pub shared_bytes: usize,
    /// Cubes a launch may use (the spatial share; `u32::MAX` for the whole device).
    pub max_cubes: u32,
    /// Whether the device is a CPU driver (lavapipe): its barriers switch between a cube's
    /// SIMD groups in software, so its cubes stay small, and its loops stop at 65,535
    /// iterations, so a launch that cannot fit [`LOOP_BUDGET`] is refused.
    pub is_cpu: bool,
}

impl Device {
    /// Units per cube of the one-cube kernel: one plane (8 to 32 units, within the device's).
    pub fn chunk_units(&self) -> u32 {
        self.plane_size
            .clamp(8, 32)
            .min(self.max_units_per_cube)
            .max(1)
    }

    /// Units per cube of the per-step kernels for `hidden` units: a hidden unit each, rounded
    /// up to a plane, at most 64 on a CPU driver and 256 on a GPU (and the device's most).
    pub fn step_units(&self, hidden: u32) -> u32 {
        let plane = self.chunk_units();
        hidden
            .next_multiple_of(plane)
            .clamp(plane, if self.is_cpu { 64 } else { 256 })
            .min(self.max_units_per_cube)
            .max(1)
    }
}

/// A step the device cannot take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PlanError(pub String);

/// How the steps of one call run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Plan {
    /// Many steps in one cube ([`super::chunk`]).
    Chunk {
        /// Units of the cube.
        units: u32,
        /// Floats of the hidden weights read or written at a time: 4, 2 or 1.
        width: u32,
        /// Steps one launch takes at most.
        steps_per_launch: u32,
    },
    /// Per step, a forward launch over the images and an update launch over the parameters
    /// ([`super::forward`], [`super::update`]).
    Steps {
        /// Units per cube.
        units: u32,
        /// Images one cube of the forward launch takes.
        images_per_cube: u32,
        /// Hidden units one pixel item of the update covers (a multiple of `units`).
        group_width: u32,
        /// Pixel items per pixel: `hidden / group_width`, rounded up.
        groups: u32,
        /// Update items one cube takes.
        items_per_cube: u32,
        /// Update items per step: pixel items, blocks of hidden units, the output biases.
        items: u32,
    },
}

/// Shared-memory words (4 bytes each) the one-cube kernel declares: the lit pixels and their
/// values, the units' pixel counts and partial sums, the hidden activations, the outputs and
/// their deltas, the output layer and both biases with their gradients, and two statistics.
pub(super) fn chunk_shared_words(hidden: u32, units: u32) -> u64 {
    let (h, u) = (u64::from(hidden), u64::from(units));
    let o = OUTPUTS as u64;
    2 * PIXELS as u64 // lit_p, lit_x
        + u // counts
        + u * h // part
        + h // h
        + 2 * o // y, dz2
        + 2 * (h * o) // sw2, gw2
        + 2 * h // sb1, gb1
        + 2 * o // sb2, gb2
        + 2 // stats
}

/// Shared-memory words of the forward kernel: the lit pixels and their values, the units'
/// pixel counts and partial outputs, the outputs and their deltas.
pub(super) fn forward_shared_words(units: u32) -> u64 {
    let u = u64::from(units);
    2 * PIXELS as u64 + u + u * OUTPUTS as u64 + 2 * OUTPUTS as u64
}

/// Shared-memory words of the update kernel: the units' counts and a segment's entries.
pub(super) fn update_shared_words(units: u32) -> u64 {
    u64::from(units) + 2 * u64::from(SEGMENT)
}

/// Loop iterations of one step of `batch` images in the one-cube kernel, per unit: the step
/// loop, two image loops, and per image two passes over at most 784 lit pixels shared by the
/// units.
pub(super) fn chunk_step_iterations(batch: u32, units: u32) -> u64 {
    let per_image = 2 + 2 * u64::from((PIXELS as u32).div_ceil(units));
    1 + u64::from(batch) * per_image
}

/// Loop iterations of one image of the forward kernel, per unit: the image loop and, per block
/// of hidden units, its loop over at most 784 lit pixels and the deltas' loop.
pub(super) fn forward_image_iterations(hidden: u32, units: u32) -> u64 {
    let blocks = u64::from(hidden.div_ceil(units));
    2 + blocks * (PIXELS as u64 + 3)
}

/// Loop iterations of one pixel item of the update kernel covering `group_blocks` blocks of
/// hidden units, per unit: per segment of the step's images, the segment loop, the two loops
/// that gather its entries (at most `batch` together over all segments, twice) and, per block,
/// the loop over at most a segment's entries; plus the item loop.
pub(super) fn pixel_item_iterations(batch: u32, group_blocks: u32) -> u64 {
    let segments = u64::from(batch.div_ceil(SEGMENT).max(1));
    let per_segment = 2 + u64::from(group_blocks) * (u64::from(batch.min(SEGMENT)) + 2);
    1 + segments * per_segment + 2 * u64::from(batch)
}

/// Floats of the hidden weights the one-cube kernel reads or writes at a time: 4, 2 or 1,
/// whichever divides `hidden` first. A GPU moves a vector of four in one transaction; a CPU
/// driver (lavapipe) copies each storage access lane by lane in a loop, which a vector runs
/// once for its four floats.
pub(super) fn vector_width(hidden: u32) -> u32 {
    if hidden.is_multiple_of(4) {
        4
    } else if hidden.is_multiple_of(2) {
        2
    } else {
        1
    }
}

/// Whether the one-cube kernel takes steps of `batch` images through `hidden` units: a narrow
/// network, a small step, its shared memory within the device's, one step within the budget.
fn chunk_fits(hidden: u32, batch: u32, device: &Device) -> bool {
    let units = device.chunk_units();
    hidden <= CHUNK_MAX_HIDDEN
        && batch.saturating_mul(hidden) <= CHUNK_MAX_WORK
        && chunk_shared_words(hidden, units) * 4 <= device.shared_bytes as u64
        && chunk_step_iterations(batch, units) <= u64::from(LOOP_BUDGET)
}

/// The plan for steps of `batch` images through `hidden` units on `device`.
pub(super) fn plan(hidden: u32, batch: u32, device: &Device) -> Result<Plan, PlanError> {
    let batch = batch.max(1);
    let budget = u64::from(LOOP_BUDGET);
    let shared = device.shared_bytes as u64;
    if chunk_fits(hidden, batch, device) {
        let units = device.chunk_units();
        return Ok(Plan::Chunk {
            units,
            width: vector_width(hidden),
            steps_per_launch: (budget / chunk_step_iterations(batch, units)).max(1) as u32,
        });
    }
    let units = device.step_units(hidden);
    let words = forward_shared_words(units).max(update_shared_words(units));
    if words * 4 > shared {
        return Err(PlanError(format!(
            "the GPU step needs {} bytes of shared memory per cube at {units} units; the \
             device has {shared}",
            words * 4
        )));
    }
    let per_image = forward_image_iterations(hidden, units);
    let blocks = hidden.div_ceil(units);
    // The widest group of blocks whose pixel item fits the budget (at least one block).
    let group_blocks = (1..=blocks)
        .rev()
        .find(|&g| pixel_item_iterations(batch, g) <= budget)
        .unwrap_or(1);
    let per_pixel_item = pixel_item_iterations(batch, group_blocks);
    // A block item loops over the step's images once; the bias item twice.
    let per_item = per_pixel_item.max(1 + 2 * u64::from(batch));
    if device.is_cpu && (per_image > budget || per_item > budget) {
        return Err(PlanError(format!(
            "a step of {batch} images through {hidden} hidden units at {units} units per cube \
             needs more than the CPU driver's {LOOP_BUDGET} loop iterations per unit"
        )));
    }
    let groups = blocks.div_ceil(group_blocks);
    Ok(Plan::Steps {
        units,
        images_per_cube: (budget / per_image).max(1) as u32,
        group_width: group_blocks * units,
        groups,
        items_per_cube: (budget / per_item).max(1) as u32,
        items: PIXELS as u32 * groups + blocks + 1,
    })
}

/// The cubes of a launch with `items` work items: one per item, within the share's limit.
pub(super) fn cubes_for(items: u32, device: &Device) -> u32 {
    items.clamp(1, device.max_cubes.max(1))
}

/// The words of the training set's buffer for `images` images.
pub(super) fn image_words(images: usize) -> usize {
    images * WORDS as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    /// lavapipe as CI has it: 32 KiB of shared memory, a plane of 8, 1,024 units per cube.
    fn lavapipe(plane_size: u32) -> Device {
        Device {
            plane_size,
            max_units_per_cube: 1024,
            shared_bytes: 32 * 1024,
            max_cubes: u32::MAX,
            is_cpu: true,
        }
    }

    #[test]
    fn every_width_and_batch_has_a_plan_within_the_budget_at_any_plane_size() {
        let batches = [
            1, 2, 3, 8, 17, 32, 64, 100, 256, 1000, 1024, 1025, 2048, 4096,
        ];
        for plane in 1..=64 {
            let device = lavapipe(plane);
            for hidden in (1..=64).chain([100, 128, 255, 512, 1000, 2048, 4095, 4096]) {
                for batch in batches {
                    let plan = plan(hidden, batch, &device)
                        .unwrap_or_else(|e| panic!("{hidden} x {batch} at plane {plane}: {e:?}"));
                    let budget = u64::from(LOOP_BUDGET);
                    match plan {
                        Plan::Chunk {
                            units,
                            width,
                            steps_per_launch,
                        } => {
                            assert!(units >= 1 && hidden.is_multiple_of(width));
                            assert!(
                                u64::from(steps_per_launch) * chunk_step_iterations(batch, units)
                                    <= budget
                            );
                            assert!(chunk_shared_words(hidden, units) * 4 <= 32 * 1024);
                        }
                        Plan::Steps {
                            units,
                            images_per_cube,
                            group_width,
                            groups,
                            items_per_cube,
                            items,
                        } => {
                            assert!(units >= 1 && group_width.is_multiple_of(units));
                            assert!(groups * group_width >= hidden);
                            assert!(
                                u64::from(images_per_cube)
                                    * forward_image_iterations(hidden, units)
                                    <= budget,
                                "{hidden} x {batch} at plane {plane}: forward"
                            );
                            let per_item = pixel_item_iterations(batch, group_width / units)
                                .max(1 + 2 * u64::from(batch));
                            assert!(
                                u64::from(items_per_cube) * per_item <= budget,
                                "{hidden} x {batch} at plane {plane}: update"
                            );
                            assert_eq!(items, 784 * groups + hidden.div_ceil(units) + 1);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_widest_step_splits_its_pixels_into_groups_that_fit() {
        // 4,096 units at batch 1,024: one pixel over all 64 blocks would take 67,714
        // iterations, past lavapipe's limit.
        assert!(pixel_item_iterations(1024, 64) > u64::from(LOOP_BUDGET));
        let Ok(Plan::Steps {
            groups,
            group_width,
            ..
        }) = plan(4096, 1024, &lavapipe(8))
        else {
            panic!("a per-step plan");
        };
        assert!(groups >= 2, "{groups} groups of {group_width}");
    }

    #[test]
    fn the_chunk_kernels_shared_memory_counts_every_array() {
        // 784 x 2 + 8 + 8 x 28 + 28 + 20 + 560 + 56 + 20 + 2.
        assert_eq!(chunk_shared_words(28, 8), 2486);
        // A device whose shared memory ends one word short of that takes per-step kernels.
        let mut device = lavapipe(8);
        device.shared_bytes = (2486 - 1) * 4;
        assert!(matches!(plan(28, 1, &device), Ok(Plan::Steps { .. })));
        device.shared_bytes = 2486 * 4;
        assert!(matches!(plan(28, 1, &device), Ok(Plan::Chunk { .. })));
    }

    #[test]
    fn narrow_cubes_that_cannot_fit_the_budget_on_a_cpu_driver_are_refused() {
        let mut device = lavapipe(8);
        device.max_units_per_cube = 1;
        let error = plan(4096, 256, &device).expect_err("one unit is too few at 4,096");
        assert!(error.0.contains("loop iterations"), "{}", error.0);
        device.is_cpu = false;
        assert!(plan(4096, 256, &device).is_ok(), "a GPU has no loop limit");
    }

    #[test]
    fn units_take_the_plane_and_the_width() {
        assert_eq!(lavapipe(8).chunk_units(), 8);
        assert_eq!(lavapipe(1).chunk_units(), 8);
        assert_eq!(lavapipe(64).chunk_units(), 32);
        assert_eq!(lavapipe(8).step_units(4), 8);
        assert_eq!(lavapipe(8).step_units(28), 32);
        assert_eq!(lavapipe(8).step_units(4096), 64);
        let gpu = Device {
            is_cpu: false,
            ..lavapipe(32)
        };
        assert_eq!(gpu.step_units(4096), 256);
    }
}
