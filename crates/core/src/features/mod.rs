//! Non-neural document features: TF-IDF vectors and their LSA projection.
//!
//! These feed the baseline (`baseline` module) and, later, serve as the
//! corpus-statistics half of the representation that the RNN adds to.

pub mod sparse;
pub mod stopwords;
pub mod svd;
pub mod tfidf;
pub mod wordvec;

pub use sparse::Csr;
pub use svd::{truncated_svd, truncated_svd_full};
pub use tfidf::{Punctuation, Tfidf, TfidfConfig};
pub use wordvec::WordVectors;
