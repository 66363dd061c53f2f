#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

#[cfg(feature = "bench")]
pub mod bench;
pub mod load;
pub mod manifest;
pub mod recording;
pub mod register;
pub mod rules;
pub mod summary;

pub use load::Arch;
pub use load::PlannedImage;
pub use load::load_openhcl;
pub use load::load_openhcl_with_buffer;
pub use rules::ImageRuleError;
pub use rules::ImageRules;
