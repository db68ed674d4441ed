//! The wolfpack compressor library: data sets ([`data`]), the trainable implicit model ([`model`]) and the
//! training recipe that meets a budget of stored weights ([`train`]).

pub mod data;
pub mod model;
pub mod train;
