#![doc = include_str!("../README.md")]
#![no_std]
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

pub mod elf;
pub mod image;
pub mod import;

#[cfg(test)]
mod test_support;

pub use elf::ElfError;
pub use elf::ElfMachine;
pub use elf::LoadError;
pub use elf::LoadInfo;
pub use elf::LoadSegment;
pub use elf::StaticElfPlan;
pub use elf::load_static_elf;
pub use elf::plan_static_elf;
pub use image::Arm64ImageInfo;
pub use image::Arm64ImagePlan;
pub use image::ImageError;
pub use image::InitrdInfo;
pub use image::KernelInfo;
pub use image::LoadImageError;
pub use image::load_arm64_image;
pub use image::plan_arm64_image;
pub use import::ImportPages;
pub use import::PAGE_SIZE;
pub use import::PageAcceptance;
