//! The marking a source gave each record: a STIX object's marking definitions (object and
//! granular, TLP 1.0 and 2.0), a MISP event's and attribute's `tlp:` tags, a mapped CSV's
//! TLP column. A record's TLP is the strictest its source gave; a record without one takes
//! the report type's default later. A marking may be known only later in the document (a
//! STIX marking definition after the objects it marks, a MISP event's tags after its
//! attributes), so each record refers to a slot that is settled when the document (or
//! event) ends.

use std::collections::HashMap;

use schakel_domain::Tlp;
use serde_json::Value;

/// The STIX marking definitions of the TLP, by id (TLP 1.0 and 2.0), in TLP 2.0 terms.
pub const STIX_TLP_MARKINGS: [(&str, Tlp); 9] = [
    (
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
        Tlp::Clear,
    ),
    (
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
        Tlp::Green,
    ),
    (
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
        Tlp::Amber,
    ),
    (
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
        Tlp::Red,
    ),
    (
        "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        Tlp::Clear,
    ),
    (
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        Tlp::Green,
    ),
    (
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        Tlp::Amber,
    ),
    (
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        Tlp::AmberStrict,
    ),
    (
        "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
        Tlp::Red,
    ),
];

/// The STIX extension that carries a TLP 2.0 marking definition's level.
const TLP_2_EXTENSION: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// What a marking definition says, as far as sharing goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Definition {
    Tlp(Tlp),
    /// A statement, copyright or other marking that limits no audience.
    NotTlp,
}

/// The TLP a STIX marking definition object states, if it is one.
fn definition_of(object: &Value) -> Definition {
    let tlp_1 = object
        .get("definition_type")
        .and_then(Value::as_str)
        .filter(|t| t.eq_ignore_ascii_case("tlp"))
        .and_then(|_| object.pointer("/definition/tlp"))
        .and_then(Value::as_str)
        .and_then(Tlp::from_label);
    let tlp_2 = object
        .get("extensions")
        .and_then(|e| e.get(TLP_2_EXTENSION))
        .and_then(|e| e.get("tlp_2_0"))
        .and_then(Value::as_str)
        .and_then(Tlp::from_label);
    let named = object
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| n.to_ascii_uppercase().starts_with("TLP:"))
        .and_then(Tlp::from_label);
    // Several statements of one definition: the strictest.
    match [tlp_1, tlp_2, named].into_iter().flatten().max() {
        Some(tlp) => Definition::Tlp(tlp),
        None => Definition::NotTlp,
    }
}

/// Every marking a STIX object names: its object markings and the markings of its
/// granular markings (whatever part they select: the row carries the whole object).
pub(crate) fn stix_refs(object: &Value) -> Vec<String> {
    let mut refs: Vec<String> = object
        .get("object_marking_refs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    refs.extend(
        object
            .get("granular_markings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|g| g.get("marking_ref").and_then(Value::as_str))
            .map(str::to_owned),
    );
    refs.sort();
    refs.dedup();
    refs
}

/// The TLP of `tlp:` tags (MISP), the strictest when there are several.
pub(crate) fn misp_tags_tlp(tags: Option<&Value>) -> Option<Tlp> {
    tags.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("name").and_then(Value::as_str))
        .filter(|n| n.trim().to_ascii_lowercase().starts_with("tlp:"))
        .filter_map(Tlp::from_label)
        .max()
}

/// A record's marking, or what is needed to know it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Slot {
    /// Settled: the source's TLP (`None`: the source gave none).
    Known(Option<Tlp>),
    /// A STIX object's marking references, settled when its document ends.
    Stix(Vec<String>),
    /// A MISP attribute's own TLP, settled with its event's tags when the event ends.
    Misp { event: u64, own: Option<Tlp> },
}

/// The markings of a run's records: each record refers to a slot by number.
#[derive(Debug)]
pub(crate) struct Markings {
    slots: Vec<Slot>,
    index: HashMap<Slot, u32>,
    /// The marking definitions of the STIX document being read.
    definitions: HashMap<String, Definition>,
    /// What a reader must know of markings it could not read.
    pub(crate) warnings: Vec<String>,
}

impl Markings {
    pub(crate) fn new() -> Self {
        let mut m = Self {
            slots: Vec::new(),
            index: HashMap::new(),
            definitions: HashMap::new(),
            warnings: Vec::new(),
        };
        m.slot(Slot::Known(None));
        m
    }

    /// The slot of records the source did not mark.
    pub(crate) const UNMARKED: u32 = 0;

    fn slot(&mut self, slot: Slot) -> u32 {
        if let Some(n) = self.index.get(&slot) {
            return *n;
        }
        let n = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
        self.slots.push(slot.clone());
        self.index.insert(slot, n);
        n
    }

    /// The slot of a record its source marked `tlp` (a mapped CSV's TLP column).
    pub(crate) fn known(&mut self, tlp: Option<Tlp>) -> u32 {
        self.slot(Slot::Known(tlp))
    }

    /// A STIX document begins: its marking definitions are its own.
    pub(crate) fn begin_stix(&mut self) {
        self.definitions.clear();
    }

    /// A STIX marking definition object of the document being read.
    pub(crate) fn learn_stix(&mut self, object: &Value) {
        if let Some(id) = object.get("id").and_then(Value::as_str) {
            self.definitions
                .insert(id.to_owned(), definition_of(object));
        }
    }

    /// What one STIX marking reference says now: `None` when the document has not
    /// defined it (yet).
    fn stix_definition(&self, reference: &str) -> Option<Definition> {
        STIX_TLP_MARKINGS
            .iter()
            .find(|(id, _)| *id == reference)
            .map(|(_, tlp)| Definition::Tlp(*tlp))
            .or_else(|| self.definitions.get(reference).copied())
    }

    /// The slot of a STIX object marked with `refs`: settled now when every reference is
    /// known, else when the document ends.
    pub(crate) fn stix(&mut self, refs: Vec<String>) -> u32 {
        let known: Option<Vec<Definition>> = refs.iter().map(|r| self.stix_definition(r)).collect();
        match known {
            Some(definitions) => self.known(strictest(&definitions)),
            None => self.slot(Slot::Stix(refs)),
        }
    }

    /// The STIX document `path` ends: every marking it left open is settled. A reference
    /// the document never defines may be a TLP defined elsewhere, so its records are taken
    /// as TLP:RED (shared with nobody not named), with a warning.
    pub(crate) fn end_stix(&mut self, path: &str) {
        for i in 0..self.slots.len() {
            let Some(Slot::Stix(refs)) = self.slots.get(i).cloned() else {
                continue;
            };
            let mut definitions = Vec::new();
            for r in &refs {
                match self.stix_definition(r) {
                    Some(d) => definitions.push(d),
                    None => {
                        definitions.push(Definition::Tlp(Tlp::Red));
                        self.warnings.push(format!(
                            "`{path}`: the marking `{r}` is defined nowhere in the file; the objects it marks are taken as TLP:RED"
                        ));
                    }
                }
            }
            self.settle(i, strictest(&definitions));
        }
    }

    /// The slot of a MISP attribute tagged `own` in event number `event`, whose event's
    /// tags are `event_tlp` if known yet.
    pub(crate) fn misp(
        &mut self,
        event: u64,
        own: Option<Tlp>,
        event_tlp: Option<Option<Tlp>>,
    ) -> u32 {
        match event_tlp {
            Some(tlp) => self.known(own.max(tlp)),
            None => self.slot(Slot::Misp { event, own }),
        }
    }

    /// MISP event number `event` ends with the TLP of its tags.
    pub(crate) fn end_misp_event(&mut self, event: u64, tlp: Option<Tlp>) {
        for i in 0..self.slots.len() {
            if let Some(Slot::Misp { event: e, own }) = self.slots.get(i).cloned()
                && e == event
            {
                self.settle(i, own.max(tlp));
            }
        }
    }

    /// A slot settles: its records have `tlp`. (The slot keeps its number; another slot
    /// may settle to the same TLP, and readers of aggregates merge by TLP.)
    fn settle(&mut self, i: usize, tlp: Option<Tlp>) {
        if let Some(slot) = self.slots.get_mut(i) {
            self.index.remove(slot);
            *slot = Slot::Known(tlp);
        }
    }

    /// The TLP of slot `n`: `None` when the source gave none (or it is still open: a
    /// document that did not end cleanly is an error before anyone asks).
    pub(crate) fn tlp(&self, n: u32) -> Option<Tlp> {
        match self.slots.get(n as usize) {
            Some(Slot::Known(tlp)) => *tlp,
            _ => Some(Tlp::Red),
        }
    }
}

/// The strictest TLP among definitions (statements mark no audience).
fn strictest(definitions: &[Definition]) -> Option<Tlp> {
    definitions
        .iter()
        .filter_map(|d| match d {
            Definition::Tlp(t) => Some(*t),
            Definition::NotTlp => None,
        })
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stix_markings_settle_to_the_strictest_tlp_and_unknown_ones_to_red() {
        let mut m = Markings::new();
        m.begin_stix();
        // Standard ids are known at once; the strictest of several wins.
        let red_2 = m.stix(vec![
            "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb".into(),
            "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1".into(),
        ]);
        assert_eq!(m.tlp(red_2), Some(Tlp::Red));
        let white = m.stix(vec![
            "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9".into(),
        ]);
        assert_eq!(m.tlp(white), Some(Tlp::Clear));
        // A definition after the object: settled when the document ends.
        let later = m.stix(vec!["marking-definition--local-amber".into()]);
        let never = m.stix(vec!["marking-definition--nowhere".into()]);
        let statement = m.stix(vec!["marking-definition--copyright".into()]);
        m.learn_stix(
            &json!({"type": "marking-definition", "id": "marking-definition--local-amber",
            "definition_type": "tlp", "definition": {"tlp": "amber"}}),
        );
        m.learn_stix(
            &json!({"type": "marking-definition", "id": "marking-definition--copyright",
            "definition_type": "statement", "definition": {"statement": "© someone"}}),
        );
        m.end_stix("bundle.json");
        assert_eq!(m.tlp(later), Some(Tlp::Amber));
        assert_eq!(m.tlp(never), Some(Tlp::Red));
        assert_eq!(m.tlp(statement), None);
        assert_eq!(m.warnings.len(), 1, "{:?}", m.warnings);
        // TLP 2.0 definitions carry their level in an extension.
        m.begin_stix();
        m.learn_stix(&json!({"type": "marking-definition", "id": "marking-definition--x",
            "name": "TLP:AMBER+STRICT", "extensions": {TLP_2_EXTENSION: {"tlp_2_0": "amber+strict"}}}));
        let strict = m.stix(vec!["marking-definition--x".into()]);
        assert_eq!(m.tlp(strict), Some(Tlp::AmberStrict));
        assert_eq!(m.tlp(Markings::UNMARKED), None);
        // Granular markings count, whatever they select.
        let refs = stix_refs(&json!({"object_marking_refs": ["a"],
            "granular_markings": [{"marking_ref": "b", "selectors": ["pattern"]}, {"lang": "nl", "selectors": ["name"]}]}));
        assert_eq!(refs, ["a", "b"]);
    }

    #[test]
    fn misp_attributes_take_the_stricter_of_their_own_and_their_events_tags() {
        let mut m = Markings::new();
        let tags = json!([{"name": "tlp:green"}, {"name": "TLP:AMBER"}, {"name": "type:OSINT"}]);
        assert_eq!(misp_tags_tlp(Some(&tags)), Some(Tlp::Amber));
        assert_eq!(
            misp_tags_tlp(Some(&json!([{"name": "tlp:white"}]))),
            Some(Tlp::Clear)
        );
        let open = m.misp(1, Some(Tlp::Green), None);
        let red = m.misp(1, Some(Tlp::Red), None);
        let other = m.misp(2, None, None);
        m.end_misp_event(1, Some(Tlp::Amber));
        assert_eq!(
            (m.tlp(open), m.tlp(red)),
            (Some(Tlp::Amber), Some(Tlp::Red))
        );
        m.end_misp_event(2, None);
        assert_eq!(m.tlp(other), None);
        let known = m.misp(3, None, Some(Some(Tlp::Green)));
        assert_eq!(m.tlp(known), Some(Tlp::Green));
    }
}
