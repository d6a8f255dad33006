//! Records as they sit in a batch's records section, and that section's codec.
//!
//! A record is a zig-zag varint `length`, then `attributes` (one byte), `timestampDelta`
//! (varlong), `offsetDelta`, `keyLength` (-1 = null), key, `valueLength` (-1 = null), value,
//! `headerCount`, and each header as `keyLength`, key (UTF-8, never null), `valueLength`
//! (-1 = null), value. Every length is checked against the bytes that remain before anything
//! is sliced or allocated, so a hostile length costs nothing.

use bytes::Bytes;

use super::error::RecordError;
use super::varint::{self, VarintError};

/// One header of a record: a UTF-8 key and a nullable value, as in Kafka.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Header {
    /// The header's name; Kafka header keys are never null.
    pub key: String,
    /// The header's value; `None` is Kafka's null.
    pub value: Option<Bytes>,
}

/// One record of a batch. Its offset and timestamp are deltas from the batch's, so a record
/// means little without its batch: see `RecordBatch::record_offset` and
/// `RecordBatch::record_timestamp`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Record {
    /// Record attributes; Kafka defines no bits and writes 0.
    pub attributes: i8,
    /// Milliseconds from the batch's base timestamp.
    pub timestamp_delta: i64,
    /// Offset from the batch's base offset; record `i` of a batch has delta `i`.
    pub offset_delta: i32,
    /// The key; `None` is Kafka's null key (round-robin or sticky partitioning).
    pub key: Option<Bytes>,
    /// The value; `None` is Kafka's null value (a tombstone).
    pub value: Option<Bytes>,
    /// Headers, in order; keys may repeat, as in Kafka.
    pub headers: Vec<Header>,
}

/// The fewest bytes a record can take: one-byte length, attributes, timestamp delta, offset
/// delta, key length, value length and header count. Bounds allocations by what remains.
pub(super) const RECORD_BYTES_MIN: usize = 7;

/// The fewest bytes a header can take: key length 0 and value length -1.
const HEADER_BYTES_MIN: usize = 2;

impl Record {
    /// Bytes the record takes in the records section, its length prefix included: what a
    /// producer adds to a batch's uncompressed size when it appends the record.
    pub fn encoded_len(&self) -> usize {
        let body = self.body_len();
        varint::length_len(body) + body
    }

    fn body_len(&self) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|header| {
                varint::length_len(header.key.len())
                    + header.key.len()
                    + nullable_len(&header.value)
            })
            .sum();
        1 + varint::varlong_len(self.timestamp_delta)
            + varint::varint_len(self.offset_delta)
            + nullable_len(&self.key)
            + nullable_len(&self.value)
            + varint::length_len(self.headers.len())
            + headers
    }

    /// Appends the record; the caller has bounded the section by `RECORDS_BYTES_MAX`, so
    /// every length fits the `i32` Kafka gives it.
    fn encode_into(&self, out: &mut Vec<u8>) {
        let start = out.len();
        let body = self.body_len();
        varint::put_length(out, body);
        let body_at = out.len();
        out.push(self.attributes as u8);
        varint::put_varlong(out, self.timestamp_delta);
        varint::put_varint(out, self.offset_delta);
        put_nullable(out, &self.key);
        put_nullable(out, &self.value);
        varint::put_length(out, self.headers.len());
        for header in &self.headers {
            varint::put_length(out, header.key.len());
            out.extend_from_slice(header.key.as_bytes());
            put_nullable(out, &header.value);
        }
        debug_assert_eq!(out.len() - body_at, body);
        debug_assert_eq!(out.len() - start, self.encoded_len());
    }
}

fn nullable_len(bytes: &Option<Bytes>) -> usize {
    match bytes {
        None => varint::varint_len(-1),
        Some(bytes) => varint::length_len(bytes.len()) + bytes.len(),
    }
}

fn put_nullable(out: &mut Vec<u8>, bytes: &Option<Bytes>) {
    match bytes {
        None => varint::put_varint(out, -1),
        Some(bytes) => {
            varint::put_length(out, bytes.len());
            out.extend_from_slice(bytes);
        }
    }
}

/// Appends the records section. Record `i` must have offset delta `i`; `out` may already
/// hold the batch header, and error offsets count from where the section starts.
pub(super) fn encode_records(records: &[Record], out: &mut Vec<u8>) -> Result<(), RecordError> {
    let section_at = out.len();
    for (index, record) in records.iter().enumerate() {
        let expected = i32::try_from(index).unwrap_or(i32::MAX);
        if record.offset_delta != expected {
            return Err(RecordError::OffsetDeltaMismatch {
                record: index,
                offset: out.len() - section_at,
                expected,
                found: record.offset_delta,
            });
        }
        record.encode_into(out);
    }
    Ok(())
}

/// Decodes exactly `records_count` records that fill `section` to its end.
pub(super) fn decode_records(
    section: &Bytes,
    records_count: i32,
) -> Result<Vec<Record>, RecordError> {
    let count = usize::try_from(records_count).unwrap_or(0);
    let mut records = Vec::with_capacity(count.min(section.len() / RECORD_BYTES_MIN));
    let mut at = 0;
    for offset_delta in 0..records_count {
        let (record, next) = decode_record(section, at, offset_delta)?;
        records.push(record);
        at = next;
    }
    if at != section.len() {
        return Err(RecordError::TrailingBytes {
            records_count,
            offset: at,
            trailing: section.len() - at,
        });
    }
    Ok(records)
}

/// Decodes the record at `at` that must have `offset_delta`; returns it and where the next
/// record starts.
fn decode_record(
    section: &Bytes,
    at: usize,
    offset_delta: i32,
) -> Result<(Record, usize), RecordError> {
    let index = usize::try_from(offset_delta).unwrap_or(0);
    let mut outer = Cursor {
        section,
        at,
        end: section.len(),
        record: index,
    };
    let length_at = outer.at;
    let length = outer.varint("length")?;
    let body_len = usize::try_from(length)
        .map_err(|_| outer.invalid_length("length", length_at, length.into()))?;
    let body_at = outer.at;
    outer.need("record", body_len)?;
    let mut body = Cursor {
        section,
        at: body_at,
        end: body_at + body_len,
        record: index,
    };
    let record = body.record(offset_delta, length_at)?;
    if body.at != body.end {
        return Err(RecordError::RecordLengthMismatch {
            record: index,
            offset: length_at,
            declared: length.into(),
            read: body.at - body_at,
        });
    }
    Ok((record, body.end))
}

/// Reads fields from `section[at..end]` for record number `record`, naming the field and
/// offset of anything that does not fit.
struct Cursor<'a> {
    section: &'a Bytes,
    at: usize,
    end: usize,
    record: usize,
}

impl Cursor<'_> {
    fn record(&mut self, offset_delta: i32, record_at: usize) -> Result<Record, RecordError> {
        let attributes = self.byte("attributes")?;
        let timestamp_delta = self.varlong("timestamp_delta")?;
        let found = self.varint("offset_delta")?;
        if found != offset_delta {
            return Err(RecordError::OffsetDeltaMismatch {
                record: self.record,
                offset: record_at,
                expected: offset_delta,
                found,
            });
        }
        let key = self.nullable("key_length", "key")?;
        let value = self.nullable("value_length", "value")?;
        let headers = self.headers()?;
        Ok(Record {
            attributes,
            timestamp_delta,
            offset_delta,
            key,
            value,
            headers,
        })
    }

    fn headers(&mut self) -> Result<Vec<Header>, RecordError> {
        let count_at = self.at;
        let count = self.varint("header_count")?;
        let count = usize::try_from(count)
            .map_err(|_| self.invalid_length("header_count", count_at, count.into()))?;
        let mut headers = Vec::with_capacity(count.min((self.end - self.at) / HEADER_BYTES_MIN));
        for header in 0..count {
            let length_at = self.at;
            let length = self.varint("header_key_length")?;
            let length = usize::try_from(length)
                .map_err(|_| self.invalid_length("header_key_length", length_at, length.into()))?;
            let key_at = self.at;
            let key = self.take("header_key", length)?;
            let key =
                String::from_utf8(key.to_vec()).map_err(|_| RecordError::HeaderKeyNotUtf8 {
                    record: self.record,
                    header,
                    offset: key_at,
                })?;
            let value = self.nullable("header_value_length", "header_value")?;
            headers.push(Header { key, value });
        }
        Ok(headers)
    }

    fn byte(&mut self, field: &'static str) -> Result<i8, RecordError> {
        let bytes = self.take(field, 1)?;
        Ok(bytes[0] as i8)
    }

    fn varint(&mut self, field: &'static str) -> Result<i32, RecordError> {
        let result = varint::read_varint(&self.section[self.at..self.end]);
        let (value, len) = result.map_err(|error| self.varint_error(field, error))?;
        self.at += len;
        Ok(value)
    }

    fn varlong(&mut self, field: &'static str) -> Result<i64, RecordError> {
        let result = varint::read_varlong(&self.section[self.at..self.end]);
        let (value, len) = result.map_err(|error| self.varint_error(field, error))?;
        self.at += len;
        Ok(value)
    }

    /// A nullable byte string: a length (-1 = null) and that many bytes.
    fn nullable(
        &mut self,
        length_field: &'static str,
        field: &'static str,
    ) -> Result<Option<Bytes>, RecordError> {
        let length_at = self.at;
        match self.varint(length_field)? {
            -1 => Ok(None),
            length => {
                let len = usize::try_from(length)
                    .map_err(|_| self.invalid_length(length_field, length_at, length.into()))?;
                self.take(field, len).map(Some)
            }
        }
    }

    /// The next `len` bytes, shared with the section rather than copied.
    fn take(&mut self, field: &'static str, len: usize) -> Result<Bytes, RecordError> {
        self.need(field, len)?;
        let bytes = self.section.slice(self.at..self.at + len);
        self.at += len;
        Ok(bytes)
    }

    fn need(&self, field: &'static str, len: usize) -> Result<(), RecordError> {
        let available = self.end - self.at;
        if len > available {
            return Err(RecordError::RecordTruncated {
                record: self.record,
                field,
                offset: self.at,
                needed: len,
                available,
            });
        }
        Ok(())
    }

    fn varint_error(&self, field: &'static str, error: VarintError) -> RecordError {
        match error {
            VarintError::Overflow => RecordError::VarintOverflow {
                record: self.record,
                field,
                offset: self.at,
            },
            VarintError::Truncated => {
                let available = self.end - self.at;
                RecordError::RecordTruncated {
                    record: self.record,
                    field,
                    offset: self.at,
                    needed: available + 1,
                    available,
                }
            }
        }
    }

    fn invalid_length(&self, field: &'static str, offset: usize, length: i64) -> RecordError {
        RecordError::InvalidLength {
            record: self.record,
            field,
            offset,
            length,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(offset_delta: i32) -> Record {
        Record {
            attributes: 0,
            timestamp_delta: 5,
            offset_delta,
            key: Some(Bytes::from_static(b"k")),
            value: None,
            headers: vec![Header {
                key: "h".to_owned(),
                value: Some(Bytes::from_static(b"v")),
            }],
        }
    }

    fn section(records: &[Record]) -> Bytes {
        let mut out = Vec::new();
        encode_records(records, &mut out).expect("encode");
        Bytes::from(out)
    }

    #[test]
    fn a_record_is_laid_out_field_by_field() {
        let bytes = section(&[record(0)]);
        // length 11, attributes 0, timestamp delta 5, offset delta 0, key "k", value null,
        // one header "h" = "v".
        let expected = [22, 0, 10, 0, 2, b'k', 1, 2, 2, b'h', 2, b'v'];
        assert_eq!(bytes[..], expected);
        assert_eq!(record(0).encoded_len(), expected.len());
        assert_eq!(decode_records(&bytes, 1), Ok(vec![record(0)]));
    }

    #[test]
    fn the_smallest_record_takes_record_bytes_min() {
        let smallest = Record {
            attributes: 0,
            timestamp_delta: 0,
            offset_delta: 0,
            key: None,
            value: None,
            headers: vec![],
        };
        assert_eq!(smallest.encoded_len(), RECORD_BYTES_MIN);
    }

    #[test]
    fn offset_deltas_must_count_from_zero() {
        let mut out = Vec::new();
        let error = encode_records(&[record(0), record(2)], &mut out).expect_err("gap");
        assert_eq!(
            error,
            RecordError::OffsetDeltaMismatch {
                record: 1,
                offset: 12,
                expected: 1,
                found: 2
            }
        );
        let bytes = section(&[record(0), record(1)]);
        let mut gap = bytes.to_vec();
        gap[12 + 3] = 4; // second record's offset delta: zig-zag 2
        let error = decode_records(&Bytes::from(gap), 2).expect_err("gap");
        assert_eq!(
            error,
            RecordError::OffsetDeltaMismatch {
                record: 1,
                offset: 12,
                expected: 1,
                found: 2
            }
        );
    }

    #[test]
    fn malformed_fields_name_record_field_and_offset() {
        let good = section(&[record(0)]).to_vec();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                vec![0x03],
                "invalid length. record=0 field=length records_offset=0 length=-2",
            ),
            (
                good[..5].to_vec(),
                "truncated record. record=0 field=record records_offset=1 needed=11 available=4",
            ),
            (
                vec![8, 0, 0, 0, 0x80],
                "truncated record. record=0 field=key_length records_offset=4 needed=2 available=1",
            ),
            (
                vec![8, 0, 0, 0, 3],
                "invalid length. record=0 field=key_length records_offset=4 length=-2",
            ),
            (
                vec![16, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x1f],
                "varint overflow. record=0 field=key_length records_offset=4",
            ),
            (
                vec![14, 0, 0, 0, 1, 1, 0, 0],
                "record length mismatch. record=0 records_offset=0 declared=7 read=6",
            ),
            (
                vec![12, 0, 0, 0, 1, 1, 1],
                "invalid length. record=0 field=header_count records_offset=6 length=-1",
            ),
            (
                vec![18, 0, 0, 0, 1, 1, 2, 2, 0xff, 1],
                "header key not utf-8. record=0 header=0 records_offset=8",
            ),
        ];
        for (bytes, message) in cases {
            let error = decode_records(&Bytes::from(bytes.clone()), 1).expect_err(message);
            assert_eq!(error.to_string(), message, "bytes={bytes:02x?}");
        }
        let mut trailing = good.clone();
        trailing.push(0);
        let error = decode_records(&Bytes::from(trailing), 1).expect_err("trailing");
        assert_eq!(
            error.to_string(),
            "trailing bytes after records. records_count=1 records_offset=12 trailing=1"
        );
    }

    #[test]
    fn a_huge_records_count_allocates_only_what_the_section_can_hold() {
        let bytes = section(&[record(0)]);
        let error = decode_records(&bytes, i32::MAX).expect_err("only one record");
        assert_eq!(
            error,
            RecordError::RecordTruncated {
                record: 1,
                field: "length",
                offset: 12,
                needed: 1,
                available: 0
            }
        );
    }
}
