//! The batch attributes (offset 21, `i16`): codec, timestamp type, transactional and
//! control flags. They sit inside the CRC, so a corrupt value is caught there; the bits
//! Odradek does not use (6-15: Kafka's delete-horizon flag of compacted logs, and unassigned
//! bits) are refused rather than silently dropped, so a decoded batch encodes back to the
//! same attributes.

use super::compression::Compression;
use super::error::RecordError;

/// Where a batch's timestamps come from: bit 3 of the attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum TimestampType {
    /// The producer stamped each record (bit clear), Kafka's default.
    #[default]
    CreateTime,
    /// The broker stamped the batch on append (bit set): every record's timestamp is the
    /// batch's `max_timestamp`.
    LogAppendTime,
}

/// A batch's attributes as typed fields; see [`BatchAttributes::to_i16`] for the bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BatchAttributes {
    /// The records section's codec (bits 0-2).
    pub compression: Compression,
    /// Who stamped the timestamps (bit 3).
    pub timestamp_type: TimestampType,
    /// Part of a transaction (bit 4).
    pub is_transactional: bool,
    /// Holds control records such as transaction markers (bit 5).
    pub is_control: bool,
}

const CODEC_MASK: i16 = 0b0000_0111;
const TIMESTAMP_TYPE_BIT: i16 = 0b0000_1000;
const TRANSACTIONAL_BIT: i16 = 0b0001_0000;
const CONTROL_BIT: i16 = 0b0010_0000;
const KNOWN_BITS: i16 = CODEC_MASK | TIMESTAMP_TYPE_BIT | TRANSACTIONAL_BIT | CONTROL_BIT;

/// Byte offset of the attributes in a batch.
const ATTRIBUTES_AT: usize = 21;

impl BatchAttributes {
    /// The attributes as Kafka writes them at offset 21.
    pub fn to_i16(self) -> i16 {
        let mut raw = i16::from(self.compression.code());
        if self.timestamp_type == TimestampType::LogAppendTime {
            raw |= TIMESTAMP_TYPE_BIT;
        }
        if self.is_transactional {
            raw |= TRANSACTIONAL_BIT;
        }
        if self.is_control {
            raw |= CONTROL_BIT;
        }
        raw
    }

    /// Reads attributes, refusing unassigned codecs (5-7) and bits 6-15.
    pub fn from_i16(raw: i16) -> Result<BatchAttributes, RecordError> {
        let invalid = |reason| RecordError::InvalidField {
            field: "attributes",
            offset: ATTRIBUTES_AT,
            value: i64::from(raw),
            reason,
        };
        if raw & !KNOWN_BITS != 0 {
            return Err(invalid("bits 6-15 are not supported"));
        }
        let code =
            u8::try_from(raw & CODEC_MASK).map_err(|_| invalid("codec bits out of range"))?;
        let compression =
            Compression::from_code(code).ok_or_else(|| invalid("codec 5-7 is unassigned"))?;
        let timestamp_type = if raw & TIMESTAMP_TYPE_BIT != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        };
        Ok(BatchAttributes {
            compression,
            timestamp_type,
            is_transactional: raw & TRANSACTIONAL_BIT != 0,
            is_control: raw & CONTROL_BIT != 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_combination_round_trips() {
        for raw in 0..=KNOWN_BITS {
            let codec_assigned = raw & CODEC_MASK <= 4;
            match BatchAttributes::from_i16(raw) {
                Ok(attributes) => {
                    assert!(codec_assigned, "raw={raw:#x}");
                    assert_eq!(attributes.to_i16(), raw);
                }
                Err(error) => {
                    assert!(!codec_assigned, "raw={raw:#x}: {error}");
                    assert_eq!(
                        error.to_string(),
                        format!("invalid header field: codec 5-7 is unassigned. field=attributes offset=21 value={raw}")
                    );
                }
            }
        }
    }

    #[test]
    fn bits_6_to_15_are_refused() {
        for bit in 6..16 {
            let raw = 1i16 << bit;
            assert!(BatchAttributes::from_i16(raw).is_err(), "bit={bit}");
        }
    }

    #[test]
    fn flags_sit_on_kafkas_bits() {
        let attributes = BatchAttributes {
            compression: Compression::Zstd,
            timestamp_type: TimestampType::LogAppendTime,
            is_transactional: true,
            is_control: true,
        };
        assert_eq!(attributes.to_i16(), 0b0011_1100);
    }
}
