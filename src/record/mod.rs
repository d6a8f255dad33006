//! placeholder while the record module is written
