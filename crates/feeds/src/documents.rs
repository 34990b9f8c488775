//! STIX 2.1 bundles and MISP events read as streams, one object at a time, so that memory
//! stays flat whatever the size of the document: each element of a bundle's `objects` and
//! each MISP attribute is read as raw text, then parsed on its own (a key twice refused,
//! naming its place). An element that cannot be read is one malformed record and the
//! document goes on; a document whose structure cannot be read (not JSON, not a bundle or
//! an event, a key twice in the bundle or an event itself) is refused whole.
//!
//! MISP is accepted in every shape MISP exports: `{"Event": …}`, a bare event, the REST
//! search answer `{"response": [{"Event": …}, …]}`, and a list `[{"Event": …}, …]`, several
//! events per file included.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;
use std::io::Read;

use schakel_domain::Tlp;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::FeedError;
use crate::marking::misp_tags_tlp;

/// What the reader hands on, in document order.
pub(crate) enum Part {
    /// An object of a STIX bundle's `objects`, of any type.
    StixObject(Value),
    /// A MISP attribute, of the event or of one of its objects.
    MispAttribute {
        /// The event's number in the file (from 0).
        event: u64,
        /// The attribute.
        attribute: Value,
    },
    /// A MISP event's tags were read: the TLP they give (`None`: no `tlp:` tag).
    MispEventTags {
        /// The event's number.
        event: u64,
        /// Their TLP.
        tlp: Option<Tlp>,
    },
    /// A MISP event ended.
    MispEventEnd {
        /// The event's number.
        event: u64,
    },
    /// A record that cannot be read, and why (its place in the document first).
    Malformed(String),
}

/// What each part is handed to.
type Sink<'a> = dyn FnMut(Part) -> Result<(), FeedError> + 'a;

/// The reading in progress: where parts go, the error that stopped it (serde's own error
/// type cannot carry a `FeedError`), and the longest a field may be.
struct Reading<'a, 'b> {
    sink: RefCell<&'a mut Sink<'b>>,
    stopped: RefCell<Option<FeedError>>,
    max_field: usize,
}

impl Reading<'_, '_> {
    fn hand_on<E: de::Error>(&self, part: Part) -> Result<(), E> {
        let result = (self.sink.borrow_mut())(part);
        result.map_err(|e| {
            *self.stopped.borrow_mut() = Some(e);
            E::custom("the run stopped")
        })
    }

    /// One element read as raw text: parsed on its own at `place`, every string within
    /// the field limit.
    fn element(&self, raw: &RawValue, place: &str) -> Result<Value, String> {
        let text = raw.get();
        let value = schakel_formats::json::from_str_at(text, place).map_err(|e| e.to_string())?;
        if text.len() > self.max_field
            && let Some((path, len)) = oversized(&value, self.max_field, place)
        {
            return Err(format!(
                "`{path}` holds {len} bytes, more than the limit of {} for one field",
                self.max_field
            ));
        }
        Ok(value)
    }
}

/// The first string in `value` longer than `max` bytes: its path and length.
fn oversized(value: &Value, max: usize, place: &str) -> Option<(String, usize)> {
    match value {
        Value::String(s) if s.len() > max => Some((place.to_owned(), s.len())),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| oversized(v, max, &format!("{place}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            oversized(v, max, &format!("{place}.{k}"))
                .or_else(|| (k.len() > max).then(|| (format!("{place} (a key)"), k.len())))
        }),
        _ => None,
    }
}

impl<'a, 'b> Reading<'a, 'b> {
    fn new(sink: &'a mut Sink<'b>, max_field: usize) -> Self {
        Self {
            sink: RefCell::new(sink),
            stopped: RefCell::new(None),
            max_field,
        }
    }

    /// Reads a document with `seed` (which hands its parts on through this reading).
    fn read<S>(&self, path: &str, input: impl Read, seed: S) -> Result<(), FeedError>
    where
        S: for<'x> DeserializeSeed<'x, Value = ()>,
    {
        let mut deserializer = serde_json::Deserializer::from_reader(
            std::io::BufReader::with_capacity(1 << 16, input),
        );
        let result = seed
            .deserialize(&mut deserializer)
            .and_then(|()| deserializer.end());
        if let Some(e) = self.stopped.borrow_mut().take() {
            return Err(e);
        }
        result.map_err(|e| {
            if e.is_io() {
                FeedError::Input(format!("`{path}`: {e}"))
            } else {
                FeedError::Input(format!("`{path}` cannot be read: {e}"))
            }
        })
    }
}

/// Reads a STIX 2.x bundle, handing on each of its `objects`.
pub(crate) fn read_stix(
    path: &str,
    input: impl Read,
    max_field: usize,
    sink: &mut Sink<'_>,
) -> Result<(), FeedError> {
    let reading = Reading::new(sink, max_field);
    reading.read(path, input, BundleSeed { reading: &reading })
}

/// Reads MISP events, handing on each attribute and each event's tags and end.
pub(crate) fn read_misp(
    path: &str,
    input: impl Read,
    max_field: usize,
    sink: &mut Sink<'_>,
) -> Result<(), FeedError> {
    let reading = Reading::new(sink, max_field);
    let events = std::cell::Cell::new(0u64);
    reading.read(
        path,
        input,
        MispSeed {
            reading: &reading,
            events: &events,
        },
    )
}

/// Refuses a key a second time in one object of a document's structure.
fn once<E: de::Error>(seen: &mut HashSet<String>, key: &str, place: &str) -> Result<(), E> {
    if seen.insert(key.to_owned()) {
        Ok(())
    } else if place.is_empty() {
        Err(E::custom(format!("the key `{key}` appears twice")))
    } else {
        Err(E::custom(format!(
            "the key `{key}` appears twice in `{place}`"
        )))
    }
}

struct BundleSeed<'r, 'a, 'b> {
    reading: &'r Reading<'a, 'b>,
}

impl<'de> DeserializeSeed<'de> for BundleSeed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for BundleSeed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a STIX bundle (an object with `\"type\": \"bundle\"` and `objects`)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        let mut kind: Option<String> = None;
        while let Some(key) = map.next_key::<String>()? {
            once(&mut seen, &key, "")?;
            match key.as_str() {
                "type" => kind = Some(map.next_value()?),
                "objects" => map.next_value_seed(ElementsSeed {
                    reading: self.reading,
                    place: "objects",
                    each: &|reading, raw, place| {
                        let part = match reading.element(raw, place) {
                            Ok(object) => Part::StixObject(object),
                            Err(reason) => Part::Malformed(reason),
                        };
                        reading.hand_on(part)
                    },
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        match kind.as_deref() {
            Some("bundle") => Ok(()),
            Some(other) => Err(de::Error::custom(format!(
                "it is not a STIX bundle (its `type` is `{other}`, not `bundle`)"
            ))),
            None => Err(de::Error::custom(
                "it is not a STIX bundle (it has no `\"type\": \"bundle\"`)",
            )),
        }
    }
}

/// What is done with each element of an array, read as raw text.
type Each<'r> =
    dyn for<'x> Fn(&Reading<'_, '_>, &RawValue, &str) -> Result<(), serde_json::Error> + 'r;

/// An array of a document's structure: each element read raw and handed to `each`.
struct ElementsSeed<'r, 'a, 'b> {
    reading: &'r Reading<'a, 'b>,
    place: &'r str,
    each: &'r Each<'r>,
}

impl<'de> DeserializeSeed<'de> for ElementsSeed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ElementsSeed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an array at `{}`", self.place)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
            (self.each)(self.reading, &raw, &format!("{}[{i}]", self.place))
                .map_err(de::Error::custom)?;
            i += 1;
        }
        Ok(())
    }
}

struct MispSeed<'r, 'a, 'b> {
    reading: &'r Reading<'a, 'b>,
    events: &'r std::cell::Cell<u64>,
}

impl<'de> DeserializeSeed<'de> for MispSeed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MispSeed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a MISP event, `{\"Event\": …}`, `{\"response\": […]}` or a list of events")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        EventMap {
            reading: self.reading,
            events: self.events,
            place: String::new(),
            wrapper: true,
        }
        .visit_map(map)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        EventList {
            reading: self.reading,
            events: self.events,
            place: String::new(),
        }
        .visit_seq(seq)
    }
}

/// A list of events (each wrapped as `{"Event": …}` or bare).
struct EventList<'r, 'a, 'b> {
    reading: &'r Reading<'a, 'b>,
    events: &'r std::cell::Cell<u64>,
    place: String,
}

impl<'de> DeserializeSeed<'de> for EventList<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for EventList<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of MISP events")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        while seq
            .next_element_seed(EventMap {
                reading: self.reading,
                events: self.events,
                place: format!("{}[{i}]", self.place),
                wrapper: true,
            })?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }
}

/// A MISP event, or (where `wrapper`) an object that holds events under `Event` or
/// `response`.
struct EventMap<'r, 'a, 'b> {
    reading: &'r Reading<'a, 'b>,
    events: &'r std::cell::Cell<u64>,
    place: String,
    wrapper: bool,
}

impl<'de> DeserializeSeed<'de> for EventMap<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EventMap<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a MISP event")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        // This object's event number, once it shows it is an event.
        let mut number: Option<u64> = None;
        let mut held_events = false;
        let at = |key: &str| {
            if self.place.is_empty() {
                key.to_owned()
            } else {
                format!("{}.{key}", self.place)
            }
        };
        while let Some(key) = map.next_key::<String>()? {
            once(&mut seen, &key, &self.place)?;
            let event_key = matches!(
                key.as_str(),
                "Attribute" | "Object" | "Tag" | "info" | "uuid"
            );
            if event_key && number.is_none() {
                let n = self.events.get();
                self.events.set(n + 1);
                number = Some(n);
            }
            match (key.as_str(), number) {
                ("Event", _) if self.wrapper => {
                    held_events = true;
                    map.next_value_seed(EventMap {
                        reading: self.reading,
                        events: self.events,
                        place: at("Event"),
                        wrapper: false,
                    })?;
                }
                ("response", _) if self.wrapper => {
                    held_events = true;
                    map.next_value_seed(EventList {
                        reading: self.reading,
                        events: self.events,
                        place: at("response"),
                    })?;
                }
                ("Attribute", Some(event)) => map.next_value_seed(ElementsSeed {
                    reading: self.reading,
                    place: &at("Attribute"),
                    each: &|reading, raw, place| {
                        let part = match reading.element(raw, place) {
                            Ok(attribute) => Part::MispAttribute { event, attribute },
                            Err(reason) => Part::Malformed(reason),
                        };
                        reading.hand_on(part)
                    },
                })?,
                ("Object", Some(event)) => map.next_value_seed(ElementsSeed {
                    reading: self.reading,
                    place: &at("Object"),
                    each: &|reading, raw, place| match reading.element(raw, place) {
                        Ok(object) => {
                            for attribute in object
                                .get("Attribute")
                                .and_then(Value::as_array)
                                .into_iter()
                                .flatten()
                            {
                                reading.hand_on(Part::MispAttribute {
                                    event,
                                    attribute: attribute.clone(),
                                })?;
                            }
                            Ok(())
                        }
                        Err(reason) => reading.hand_on(Part::Malformed(reason)),
                    },
                })?,
                ("Tag", Some(event)) => {
                    let raw: Box<RawValue> = map.next_value()?;
                    let tags = schakel_formats::json::from_str_at(raw.get(), &at("Tag"))
                        .map_err(de::Error::custom)?;
                    self.reading.hand_on(Part::MispEventTags {
                        event,
                        tlp: misp_tags_tlp(Some(&tags)),
                    })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        match number {
            Some(event) => self.reading.hand_on(Part::MispEventEnd { event }),
            None if held_events => Ok(()),
            None => Err(de::Error::custom(format!(
                "{} is not a MISP event (no `Attribute`, `Object` or `info`)",
                if self.place.is_empty() {
                    "the document".to_owned()
                } else {
                    format!("`{}`", self.place)
                }
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(
        read: impl Fn(&mut Sink<'_>) -> Result<(), FeedError>,
    ) -> Result<Vec<String>, FeedError> {
        let mut seen = Vec::new();
        read(&mut |p| {
            seen.push(match p {
                Part::StixObject(v) => format!("object {}", v["id"].as_str().unwrap_or("?")),
                Part::MispAttribute { event, attribute } => {
                    format!("{event}: {}", attribute["value"].as_str().unwrap_or("?"))
                }
                Part::MispEventTags { event, tlp } => format!("{event} tags {tlp:?}"),
                Part::MispEventEnd { event } => format!("{event} end"),
                Part::Malformed(reason) => format!("malformed {reason}"),
            });
            Ok(())
        })?;
        Ok(seen)
    }

    #[test]
    fn a_bundle_is_read_object_by_object_and_a_bad_object_is_one_record() -> Result<(), FeedError> {
        let bundle = r#"{"objects": [{"id": "a"}, {"id": "b", "id": "c"}, {"id": "d", "x": "0123456789"}],
                         "id": "bundle--1", "type": "bundle"}"#;
        let seen = parts(|sink| read_stix("b.json", bundle.as_bytes(), 8, sink))?;
        assert_eq!(seen[0], "object a");
        assert!(
            seen[1].contains("the key `id` appears twice in `objects[1]`"),
            "{seen:?}"
        );
        assert!(
            seen[2].contains("`objects[2].x` holds 10 bytes"),
            "{seen:?}"
        );
        for (bad, says) in [
            (
                r#"{"type": "report", "objects": []}"#,
                "its `type` is `report`",
            ),
            (r#"{"objects": []}"#, "no `\"type\": \"bundle\"`"),
            (
                r#"{"type": "bundle", "type": "bundle", "objects": []}"#,
                "appears twice",
            ),
            (
                r#"{"type": "bundle", "objects": [{"id": "a"},"#,
                "cannot be read",
            ),
            (r#"[]"#, "STIX bundle"),
        ] {
            let e = parts(|sink| read_stix("b.json", bad.as_bytes(), 1 << 16, sink)).err();
            let e = e.map(|e| e.to_string()).unwrap_or_default();
            assert!(e.contains(says), "{bad}: {e}");
        }
        Ok(())
    }

    #[test]
    fn every_shape_misp_exports_is_read() -> Result<(), FeedError> {
        let event = |n: u32| {
            format!(
                r#"{{"info": "e{n}", "Attribute": [{{"type": "ip-dst", "value": "192.0.2.{n}"}}],
                   "Object": [{{"name": "o", "Attribute": [{{"type": "domain", "value": "x{n}.example"}}]}}],
                   "Tag": [{{"name": "tlp:green"}}]}}"#
            )
        };
        let shapes = [
            format!(r#"{{"Event": {}}}"#, event(1)),
            event(1),
            format!(
                r#"{{"response": [{{"Event": {}}}, {{"Event": {}}}]}}"#,
                event(1),
                event(2)
            ),
            format!(r#"[{{"Event": {}}}, {}]"#, event(1), event(2)),
        ];
        for (i, doc) in shapes.iter().enumerate() {
            let seen = parts(|sink| read_misp("m.json", doc.as_bytes(), 1 << 16, sink))?;
            assert_eq!(
                &seen[..4],
                [
                    "0: 192.0.2.1",
                    "0: x1.example",
                    "0 tags Some(Green)",
                    "0 end"
                ],
                "shape {i}"
            );
            if i >= 2 {
                assert_eq!(seen.len(), 8, "shape {i}: {seen:?}");
                assert_eq!(seen[7], "1 end");
            }
        }
        let e = parts(|sink| read_misp("m.json", br#"{"nothing": 1}"#.as_slice(), 1 << 16, sink))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("not a MISP event"), "{e}");
        let twice = r#"{"Event": {"info": "x", "Tag": [], "Tag": [{"name": "tlp:clear"}]}}"#;
        let e = parts(|sink| read_misp("m.json", twice.as_bytes(), 1 << 16, sink))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("the key `Tag` appears twice in `Event`"), "{e}");
        Ok(())
    }
}
