//! Builds the type arena: names are interned on first sight (definition or `$ref`), so
//! references and cycles resolve to ids without a second lookup pass over the schemas.

use std::collections::{BTreeMap, HashMap};

use crate::error::Error;
use crate::model::{Gvk, Origin, Schema, TypeDef, TypeId, Types};

#[derive(Default)]
pub(crate) struct Arena {
    slots: Vec<Slot>,
    by_name: HashMap<String, TypeId>,
}

struct Slot {
    name: String,
    def: Option<TypeDef>,
    /// Where the name was first referenced, for a dangling `$ref`.
    first_use: Option<Origin>,
}

impl Arena {
    /// The id of `name`, reserving it if it has not been seen.
    pub fn intern(&mut self, name: &str, used_at: Origin) -> TypeId {
        if let Some(&id) = self.by_name.get(name) {
            let slot = &mut self.slots[id.index()];
            if slot.first_use.is_none() {
                slot.first_use = Some(used_at);
            }
            return id;
        }
        let id = self.reserve(name);
        self.slots[id.index()].first_use = Some(used_at);
        id
    }

    fn reserve(&mut self, name: &str) -> TypeId {
        let id = TypeId(u32::try_from(self.slots.len()).expect("fewer than 2^32 types"));
        self.slots.push(Slot { name: name.to_owned(), def: None, first_use: None });
        self.by_name.insert(name.to_owned(), id);
        id
    }

    /// Defines `name`. Defining it again with the same schema adds the kinds it names that were
    /// not named yet; with a different schema it is an error naming both places.
    pub fn define(&mut self, name: &str, gvks: Vec<Gvk>, schema: Schema, origin: Origin) -> Result<TypeId, Error> {
        let id = match self.by_name.get(name) {
            Some(&id) => id,
            None => self.reserve(name),
        };
        let slot = &mut self.slots[id.index()];
        match &mut slot.def {
            None => {
                slot.def = Some(TypeDef { id, name: name.to_owned(), gvks, schema, origin });
                Ok(id)
            }
            // One document names the kind of a definition that another only refers to (a
            // document without `x-kubernetes-group-version-kind`, whose kinds were inferred
            // from the paths that return them), or the two name different kinds of it: a real
            // server's `/openapi/v3` documents each list, for a shared definition such as
            // `DeleteOptions`, only their own group's kinds. The same definition, with every
            // kind any of them names, in the order first seen.
            Some(existing) if existing.schema == schema => {
                for gvk in gvks {
                    if !existing.gvks.contains(&gvk) {
                        existing.gvks.push(gvk);
                    }
                }
                Ok(id)
            }
            Some(existing) => Err(Error::at(
                &origin,
                format!(
                    "`{name}` is defined again with a different schema; it was first defined in {}",
                    existing.origin
                ),
            )),
        }
    }

    /// The finished arena; every referenced name must have been defined.
    pub fn finish(self) -> Result<Types, Error> {
        let mut defs = Vec::with_capacity(self.slots.len());
        let mut by_name = BTreeMap::new();
        for slot in self.slots {
            match slot.def {
                Some(def) => {
                    by_name.insert(slot.name, def.id);
                    defs.push(def);
                }
                None => {
                    let origin = slot.first_use.expect("an undefined name was referenced");
                    return Err(Error::at(&origin, format!("$ref to `{}`, which no input defines", slot.name)));
                }
            }
        }
        Ok(Types { defs, by_name })
    }
}
