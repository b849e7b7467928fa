//! A struct's top-level members as (name, JSON text), taken while serde writes them.
//!
//! `wire::stored` needs each member's text on its own. Writing the whole object and parsing
//! it back into borrowed slices did the JSON work twice (the parse was half of the stored form's
//! cost in the store bench); here the derived `Serialize` hands over one member at a time.

use std::ops::Range;

use serde::Serialize;
use serde::ser::{self, Error as _, Impossible};

type Error = serde_json::Error;

/// The members, by name.
pub struct Members {
    text: String,
    members: Vec<(&'static str, Range<usize>)>,
}

impl Members {
    /// The members of `value`, which must serialize as a struct (a derived `Serialize` does),
    /// but those `skip` names: they are not even written.
    pub fn of<T: Serialize>(value: &T, skip: impl Fn(&str) -> bool) -> serde_json::Result<Self> {
        let mut out = Collector {
            buf: Vec::with_capacity(512),
            members: Vec::with_capacity(40),
            skip: &skip,
        };
        value.serialize(&mut out)?;
        let text = String::from_utf8(out.buf).map_err(|_| Error::custom("serialized JSON is not UTF-8"))?;
        let mut members = out.members;
        // A struct's names are distinct: an unstable sort orders them alike, without a buffer.
        members.sort_unstable_by_key(|(k, _)| *k);
        Ok(Members { text, members })
    }

    /// Bytes of the members' texts.
    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    /// (name, JSON text) by name, as a `BTreeMap` (or a `serde_json::Map`) orders them.
    pub fn by_name(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.members.iter().map(|(k, r)| (*k, &self.text[r.clone()]))
    }
}

struct Collector<'s> {
    buf: Vec<u8>,
    members: Vec<(&'static str, Range<usize>)>,
    skip: &'s dyn Fn(&str) -> bool,
}

impl ser::SerializeStruct for &mut Collector<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        if (self.skip)(key) {
            return Ok(());
        }
        let start = self.buf.len();
        // The compact writer writes a value alike alone or nested: the same bytes as in the whole object.
        serde_json::to_writer(&mut self.buf, value)?;
        self.members.push((key, start..self.buf.len()));
        Ok(())
    }

    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

fn not_a_struct() -> Error {
    Error::custom("only a struct's members can be collected")
}

/// `fn $name(self, _: $arg…) -> Result<$ok, Error>` that refuses: only structs are collected.
macro_rules! refuse {
    ($($name:ident ($($arg:ty),*) -> $ok:ty;)*) => {
        $(fn $name(self, $(_: $arg),*) -> Result<$ok, Error> {
            Err(not_a_struct())
        })*
    };
}

impl<'a, 's> ser::Serializer for &'a mut Collector<'s> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Error> {
        Ok(self)
    }

    refuse! {
        serialize_bool(bool) -> ();
        serialize_i8(i8) -> ();
        serialize_i16(i16) -> ();
        serialize_i32(i32) -> ();
        serialize_i64(i64) -> ();
        serialize_u8(u8) -> ();
        serialize_u16(u16) -> ();
        serialize_u32(u32) -> ();
        serialize_u64(u64) -> ();
        serialize_f32(f32) -> ();
        serialize_f64(f64) -> ();
        serialize_char(char) -> ();
        serialize_str(&str) -> ();
        serialize_bytes(&[u8]) -> ();
        serialize_none() -> ();
        serialize_unit() -> ();
        serialize_unit_struct(&'static str) -> ();
        serialize_unit_variant(&'static str, u32, &'static str) -> ();
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<(), Error> {
        Err(not_a_struct())
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, _: &T) -> Result<(), Error> {
        Err(not_a_struct())
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        Err(not_a_struct())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Sample {
        zeta: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u32>,
        alpha: Vec<&'static str>,
        nested: std::collections::BTreeMap<&'static str, f64>,
    }

    #[test]
    fn members_come_by_name_with_the_text_the_whole_object_holds() {
        let s = Sample {
            zeta: 7,
            skipped: None,
            alpha: vec!["a\"b", "é"],
            nested: [("y", 1.5), ("x", -2.0)].into(),
        };
        let members = Members::of(&s, |_| false).unwrap();
        let got: Vec<_> = members.by_name().collect();
        assert_eq!(
            got,
            [
                ("alpha", r#"["a\"b","é"]"#),
                ("nested", r#"{"x":-2.0,"y":1.5}"#),
                ("zeta", "7")
            ]
        );
        let whole: std::collections::BTreeMap<String, serde_json::Value> =
            serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        for (k, text) in got {
            assert_eq!(serde_json::to_string(&whole[k]).unwrap(), text, "{k}");
        }
    }

    #[test]
    fn anything_but_a_struct_is_refused() {
        let none = |_: &str| false;
        assert!(Members::of(&[1, 2], none).is_err());
        assert!(Members::of(&"text", none).is_err());
        assert!(Members::of(&std::collections::BTreeMap::from([("a", 1)]), none).is_err());
    }

    #[test]
    fn skipped_members_are_left_out() {
        let s = Sample {
            zeta: 1,
            skipped: Some(2),
            alpha: vec![],
            nested: Default::default(),
        };
        let members = Members::of(&s, |k| k.starts_with('z') || k == "nested").unwrap();
        let got: Vec<_> = members.by_name().collect();
        assert_eq!(got, [("alpha", "[]"), ("skipped", "2")]);
    }
}
