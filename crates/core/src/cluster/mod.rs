//! Stage 7: clustering document representations.
//!
//! Owns k-means (Euclidean and cosine, k-means++ seeding, restarts) over
//! dense or sparse points; [`graph`] adds spectral coordinates from the
//! k-nearest-neighbour graph; [`head`] learns a partition's boundaries as a
//! softmax classifier over the representation; [`calibrate`] makes its
//! scores probabilities; [`select`] chooses k; [`views`] are the other
//! clusterings of the same texts that both compare with.

pub mod calibrate;
pub mod graph;
pub mod head;
pub mod kmeans;
pub mod select;
pub mod views;

pub use kmeans::{KMeans, KMeansConfig, KMeansError, Metric, Points};
