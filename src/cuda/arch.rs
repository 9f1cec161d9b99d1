//! GPU compute capabilities endoscan compiles its kernels for.

use std::fmt;

/// A compute capability `major.minor` (e.g. 9.0 for H100/H200, 8.9 for RTX 40xx / L4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ComputeCapability {
    pub major: u32,
    pub minor: u32,
}

/// The capabilities every kernel must compile for (tested without a GPU): Turing (7.5),
/// Ampere (8.6), Ada (8.9), Hopper (9.0) and Blackwell (12.0).
pub const SUPPORTED: [ComputeCapability; 5] = [
    ComputeCapability::new(7, 5),
    ComputeCapability::new(8, 6),
    ComputeCapability::new(8, 9),
    ComputeCapability::new(9, 0),
    ComputeCapability::new(12, 0),
];

impl ComputeCapability {
    pub const fn new(major: u32, minor: u32) -> Self {
        Self { major, minor }
    }

    /// NVRTC's virtual architecture name, e.g. `compute_90`: PTX that the driver compiles for
    /// the device it runs on.
    pub fn virtual_arch(&self) -> String {
        format!("compute_{}{}", self.major, self.minor)
    }

    /// The newest supported capability not above `self` (PTX for it runs on `self`), or
    /// `None` for devices older than all of them.
    pub fn ptx_target(&self) -> Option<Self> {
        SUPPORTED.iter().rev().find(|c| *c <= self).copied()
    }
}

impl fmt::Display for ComputeCapability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_get_the_newest_target_they_can_run() {
        let h200 = ComputeCapability::new(9, 0);
        assert_eq!(h200.ptx_target(), Some(h200));
        assert_eq!(h200.virtual_arch(), "compute_90");
        // An A100 (8.0) runs PTX for 7.5; an RTX 5090 (12.0) its own; a GB200 (10.0) 9.0's.
        assert_eq!(
            ComputeCapability::new(8, 0).ptx_target(),
            Some(ComputeCapability::new(7, 5))
        );
        assert_eq!(
            ComputeCapability::new(10, 0).ptx_target(),
            Some(ComputeCapability::new(9, 0))
        );
        assert_eq!(ComputeCapability::new(7, 0).ptx_target(), None);
        assert_eq!(ComputeCapability::new(12, 1).to_string(), "12.1");
    }
}
