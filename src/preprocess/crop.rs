//! Crop geometry: the recipe's centred square, and the map from model-input pixels back to
//! frame pixels (for overlays).
//!
//! Pixel `(x, y)` covers `[x, x + 1) × [y, y + 1)`; integer rectangles are half-open.

/// An axis-aligned rectangle of whole pixels, `[x, x + width) × [y, y + height)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rect {
    pub x: usize,
    pub y: usize,
    pub width: usize,
    pub height: usize,
}

impl Rect {
    /// Whether the rectangle holds no pixel.
    pub fn is_empty(&self) -> bool {
        self.width == 0 || self.height == 0
    }
}

/// The square of the frame that is resized to the model input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crop {
    pub x: usize,
    pub y: usize,
    pub side: usize,
}

impl Crop {
    /// The largest square centred in `bounds`: side `min(width, height)`, offset by half the
    /// excess along the long side, rounded down (`x = bounds.x + (width − side) / 2`).
    ///
    /// This is the recipe's "centred square of the short side", taken within the image area's
    /// bounding box instead of the whole frame.
    pub fn centred_square(bounds: Rect) -> Self {
        let side = bounds.width.min(bounds.height);
        Self {
            x: bounds.x + (bounds.width - side) / 2,
            y: bounds.y + (bounds.height - side) / 2,
            side,
        }
    }

    /// The crop as a rectangle.
    pub fn rect(&self) -> Rect {
        Rect {
            x: self.x,
            y: self.y,
            width: self.side,
            height: self.side,
        }
    }

    /// Frame pixels per model-input pixel when the crop is resized to `input_size`.
    pub fn scale(&self, input_size: usize) -> f64 {
        self.side as f64 / input_size as f64
    }

    /// Maps a point of the `input_size`-square model input (continuous pixel coordinates,
    /// `(0, 0)` = top-left corner) to continuous frame coordinates.
    pub fn to_frame(&self, u: f64, v: f64, input_size: usize) -> (f64, f64) {
        let s = self.scale(input_size);
        (self.x as f64 + u * s, self.y as f64 + v * s)
    }

    /// Maps a continuous frame point to model-input coordinates (inverse of [`Crop::to_frame`]).
    pub fn to_input(&self, x: f64, y: f64, input_size: usize) -> (f64, f64) {
        let s = self.scale(input_size);
        ((x - self.x as f64) / s, (y - self.y as f64) / s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centres_the_short_side_square() {
        let wide = Rect {
            x: 10,
            y: 20,
            width: 105,
            height: 50,
        };
        assert_eq!(
            Crop::centred_square(wide),
            Crop {
                x: 37,
                y: 20,
                side: 50
            }
        );
        let tall = Rect {
            x: 0,
            y: 0,
            width: 4,
            height: 9,
        };
        assert_eq!(
            Crop::centred_square(tall),
            Crop {
                x: 0,
                y: 2,
                side: 4
            }
        );
    }

    #[test]
    fn maps_corners_both_ways() {
        let crop = Crop {
            x: 100,
            y: 50,
            side: 768,
        };
        assert_eq!(crop.to_frame(0.0, 0.0, 384), (100.0, 50.0));
        assert_eq!(crop.to_frame(384.0, 192.0, 384), (868.0, 434.0));
        assert_eq!(crop.to_input(868.0, 434.0, 384), (384.0, 192.0));
    }
}
