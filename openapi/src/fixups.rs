//! Fix-ups over the collected types, one function each, run in order by the reader.

use std::collections::HashSet;

use crate::error::Error;
use crate::model::*;

/// Calls `f` on every schema of every type, outermost first.
fn for_each_schema(types: &mut Types, f: &mut impl FnMut(&mut Schema)) {
    for def in &mut types.defs {
        walk(&mut def.schema, f);
    }
}

pub(crate) fn walk(s: &mut Schema, f: &mut impl FnMut(&mut Schema)) {
    f(s);
    match &mut s.ty {
        SchemaType::Object(o) => {
            for p in &mut o.properties {
                walk(&mut p.schema, f);
            }
            if let Additional::Schema(a) = &mut o.additional {
                walk(a, f);
            }
            for (_, p) in &mut o.pattern_properties {
                walk(p, f);
            }
        }
        SchemaType::Array(items) => walk(items, f),
        _ => {}
    }
    let v = &mut *s.validation;
    for sub in v.all_of.iter_mut().chain(&mut v.any_of).chain(&mut v.one_of).chain(v.not.as_mut()) {
        walk(sub, f);
    }
}

/// OpenAPI v3 cannot put `description` or `default` beside a `$ref`, so Kubernetes writes
/// `{allOf: [{$ref: X}], description, default}`. That is a reference to X, and becomes one.
pub(crate) fn inline_single_ref_all_of(types: &mut Types) {
    for_each_schema(types, &mut |s| {
        if s.ty != SchemaType::Any || s.validation.all_of.len() != 1 {
            return;
        }
        let inner = &s.validation.all_of[0];
        let SchemaType::Ref(id) = inner.ty else {
            return;
        };
        let plain = Schema { ty: SchemaType::Ref(id), description: inner.description.clone(), ..Schema::default() };
        if *inner != plain {
            return;
        }
        s.ty = SchemaType::Ref(id);
        if s.description.is_none() {
            s.description = inner.description.clone();
        }
        s.validation.all_of.clear();
    });
}

/// `x-kubernetes-int-or-string: true` is its own shape. The `anyOf: [{type: integer},
/// {type: string}]` that structural schemas put beside it only restates that, and goes.
pub(crate) fn int_or_string(types: &mut Types) {
    for_each_schema(types, &mut |s| {
        if !s.extensions.int_or_string {
            return;
        }
        s.ty = SchemaType::IntOrString;
        let bare = |ty: SchemaType| Schema { ty, ..Schema::default() };
        let restates = |alts: &[Schema]| {
            alts.len() == 2 && alts.contains(&bare(SchemaType::Integer)) && alts.contains(&bare(SchemaType::String))
        };
        if restates(&s.validation.any_of) {
            s.validation.any_of.clear();
        }
        if restates(&s.validation.one_of) {
            s.validation.one_of.clear();
        }
    });
}

/// A type that is only a `$ref` to a type that is only a `$ref` ... back to itself never
/// reaches a schema: an error, at the first type of such a loop.
pub(crate) fn reject_ref_cycles(types: &Types) -> Result<(), Error> {
    let alias_of = |id: TypeId| match types.get(id).schema.ty {
        SchemaType::Ref(next) => Some(next),
        _ => None,
    };
    // By name, so the report does not depend on which member was referenced first.
    for def in types.by_name.values().map(|&id| types.get(id)) {
        let mut seen = HashSet::new();
        let mut chain = vec![def.name.as_str()];
        let mut at = def.id;
        seen.insert(at);
        while let Some(next) = alias_of(at) {
            chain.push(types.get(next).name.as_str());
            if next == def.id {
                return Err(Error::at(
                    &def.origin,
                    format!("`$ref` cycle with no schema in it: {}", chain.join(" -> ")),
                ));
            }
            if !seen.insert(next) {
                break; // a loop that `def` only leads into; reported at its own members
            }
            at = next;
        }
    }
    Ok(())
}
