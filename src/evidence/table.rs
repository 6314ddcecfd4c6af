//! One declaration per evidence table: the [`table!`] macro.
//!
//! Each record kind is written once, in [`super::model`], as a `table!` block that names
//!
//! * its struct: every field with its type and the spellings that recognise it in AWS CSV
//!   and JSON inputs (normalised keys, see `ingest::fields::NormKey`) with the conversion
//!   applied (`text`, `upper`, `state`, `timestamp`, `count`, `flag`, `number`, `period_end`; see
//!   [`super::recognise`]);
//! * its recognition rules: the essential keys (a bad value drops the record), the ARN its
//!   account and Region come from when the input does not say (`scope`; without it, the
//!   artifact's path alone says), an optional hook for keys that set more than one field, one
//!   for JSON arrays, and the final check;
//! * its merge policy: the key, which observations are final (`terminal`; without it, none is
//!   and the latest wins), and for jobs the tie rules.
//!   Filling gaps from lower-ranked observations is derived from the fields: every `Option`
//!   field is filled, key fields (plain `String`s, counts) and lists are not;
//! * its CSV files: for each, the file name and the columns in order. A column is a field
//!   (the column is named after it) or `name = |record, cx| value` for a derived or renamed
//!   one. `observed_at`, `observations` and `sources` close every row of a merged table.
//!
//! From that block the macro generates the struct, `impl FieldSink` (the recogniser: a
//! key's field is found once per CSV column or JSON member position, as a slot, and each
//! value goes straight to its slot's setter),
//! `impl Merge` and one [`View`] constant per CSV file, whose column names are the header,
//! so header and row cannot disagree (and the CSV writer is strict besides).
//!
//! Why a declarative macro: the declaration is plain Rust syntax checked by the compiler
//! (a column naming a missing field does not build), it costs no build time and no extra
//! crate, and the generated code is what one would write by hand. A derive macro would need
//! a proc-macro crate (a second compile unit with `syn`); a runtime column table would lose
//! the typed field access. Adding a field to a table is one line in its `table!` block plus,
//! if it goes to a CSV, its name in the column list of that file.

use std::io;

use super::model::Provenance;
use super::write::{Cx, Row};
use crate::time::Timestamp;

/// A field the recogniser can set from a converted value: optional fields take the value as
/// is, required ones (`String` ids) take the empty string for a missing value.
pub(crate) trait Slot<T> {
    /// Stores `value`.
    fn put(&mut self, value: Option<T>);
}

impl<T> Slot<T> for Option<T> {
    fn put(&mut self, value: Option<T>) {
        *self = value;
    }
}

impl Slot<String> for String {
    fn put(&mut self, value: Option<String>) {
        *self = value.unwrap_or_default();
    }
}

/// How the merge fills a field the winning observation lacks: `Option`s from the next
/// observation that has one; ids, counts and lists stay as the winner has them.
pub(crate) trait Fill {
    /// Fills `self` from `other` when `self` is missing.
    fn fill(&mut self, other: &Self);
}

impl<T: Clone> Fill for Option<T> {
    fn fill(&mut self, other: &Self) {
        if self.is_none() {
            self.clone_from(other);
        }
    }
}

macro_rules! keep_winner {
    ($($t:ty),*) => {
        $(impl Fill for $t {
            fn fill(&mut self, _other: &Self) {}
        })*
    };
}
keep_winner!(String, u64, bool);

impl<T> Fill for Vec<T> {
    fn fill(&mut self, _other: &Self) {}
}

/// A record observed in an artifact: what parsing adds to every record of a merged table.
pub(crate) trait Observed {
    /// Adds the observation's provenance, its time when the record has none, and the
    /// account and Region the record lacks: from its own ARN (the declaration's `scope`),
    /// else `account` / `region` (from the artifact's path).
    fn observe(
        &mut self,
        provenance: Provenance,
        observed_at: Option<Timestamp>,
        account: Option<&str>,
        region: Option<&str>,
    );
}

/// One column of an evidence CSV: its header name and how a record fills it.
pub(crate) struct Column<T> {
    /// Header name.
    pub(crate) name: &'static str,
    /// Writes the record's cell.
    pub(crate) write: fn(&T, &Cx, &mut Row) -> io::Result<()>,
}

/// One evidence CSV file of a record kind: its name and its columns, in order.
pub(crate) struct View<T: 'static> {
    /// File name inside `evidence/`.
    pub(crate) file: &'static str,
    /// The columns.
    pub(crate) columns: &'static [Column<T>],
}

impl<T> View<T> {
    /// The header row.
    pub(crate) fn header(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.columns.iter().map(|c| c.name)
    }

    /// Writes one record as a row.
    pub(crate) fn write(&self, record: &T, cx: &Cx, row: &mut Row) -> io::Result<()> {
        for c in self.columns {
            (c.write)(record, cx, row)?;
        }
        row.end()
    }
}

/// Declares a record kind once; see the module docs.
macro_rules! table {
    // A merged table: struct, recogniser, merge policy, CSV files with the provenance tail.
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty $(= $($conv:ident ( $($spelling:literal),+ ))|+ )?
            ),* $(,)?
        }
        recognise {
            essential: [$($essential:literal),* $(,)?],
            $(scope: |$ss:ident| $scope:expr,)?
            $(extra: $extra:path,)?
            $(arrays: $arrays:path,)?
            finish: |$fin:ident| $finish:expr $(,)?
        }
        merge {
            key: |$ks:ident| $key:expr,
            $(terminal: |$ts:ident| $terminal:expr,)?
            $(severity: $severity:path, settle: $settle:path,)?
        }
        $(
            csv $view:ident $file:literal [
                $( $col:ident $(= |$r:ident, $cx:ident| $value:expr)? ),* $(,)?
            ]
        )+
    ) => {
        $crate::evidence::table::table!(@struct $(#[$meta])* $name { $($(#[$fmeta])* $field: $ty),* });

        impl $crate::evidence::recognise::FieldSink for $name {
            fn slot(&self, key: &[u8]) -> u16 {
                const SPELLINGS: &[&[&[u8]]] = &[$($($( &[$($spelling),+], )+)?)*];
                SPELLINGS
                    .iter()
                    .position(|s| s.contains(&key))
                    .map_or($crate::evidence::recognise::NO_SLOT, |i| i as u16)
            }

            fn set_slot(
                &mut self,
                slot: u16,
                key: &[u8],
                v: $crate::evidence::recognise::Scalar<'_>,
            ) -> Result<(), String> {
                #[allow(unused_imports)]
                use $crate::evidence::recognise::{Scalar, conv};
                use $crate::evidence::table::Slot;
                let _ = key; // for the hook, where the table has one
                $(
                    if let Some(done) = $extra(self, key, v) {
                        return done;
                    }
                )?
                type Setter = for<'v> fn(&mut $name, Scalar<'v>) -> Result<(), String>;
                const SETTERS: &[Setter] = &[$($($(
                    |r: &mut $name, v: Scalar<'_>| {
                        Slot::put(&mut r.$field, conv::$conv(v)?);
                        Ok(())
                    },
                )+)?)*];
                SETTERS.get(usize::from(slot)).map_or(Ok(()), |set| set(self, v))
            }

            fn essential(&self, key: &[u8]) -> bool {
                $(key == $essential ||)* false
            }

            $(
                fn set_array(&mut self, key: &[u8], items: &[serde_json::Value]) -> Result<(), String> {
                    $arrays(self, key, items)
                }
            )?

            fn finish(&mut self) -> Result<(), String> {
                let $fin = self;
                $finish
            }
        }

        impl $crate::evidence::table::Observed for $name {
            fn observe(
                &mut self,
                provenance: $crate::evidence::model::Provenance,
                observed_at: Option<$crate::time::Timestamp>,
                account: Option<&str>,
                region: Option<&str>,
            ) {
                self.provenance.push(provenance);
                self.observed_at = self.observed_at.or(observed_at);
                if self.account_id.is_some() && self.region.is_some() {
                    return;
                }
                let (a, r) = {
                    let arn: Option<&str> = None;
                    $(
                        let $ss = &*self;
                        let arn = arn.or($scope);
                    )?
                    let (a, r) = arn.map($crate::arn::account_region).unwrap_or((None, None));
                    (a.map(str::to_owned), r.map(str::to_owned))
                };
                if self.account_id.is_none() {
                    self.account_id = a.or_else(|| account.map(str::to_owned));
                }
                if self.region.is_none() {
                    self.region = r.or_else(|| region.map(str::to_owned));
                }
            }
        }

        impl $crate::evidence::merge::Merge for $name {
            fn key(&self) -> String {
                let $ks = self;
                $key
            }
            $(
                fn terminal(&self) -> bool {
                    let $ts = self;
                    $terminal
                }
            )?
            fn observed_at(&self) -> Option<$crate::time::Timestamp> {
                self.observed_at
            }
            fn provenance(&self) -> &[$crate::evidence::model::Provenance] {
                &self.provenance
            }
            fn provenance_mut(&mut self) -> &mut Vec<$crate::evidence::model::Provenance> {
                &mut self.provenance
            }
            fn fill_from(&mut self, other: &Self) {
                use $crate::evidence::table::Fill;
                $(self.$field.fill(&other.$field);)*
            }
            $(
                fn severity(&self) -> u8 {
                    $severity(self)
                }
                fn settle(ranked: &mut [Self], conflicts: &mut Vec<$crate::evidence::merge::Conflict>) {
                    $settle(ranked, conflicts)
                }
            )?
        }

        impl $name {
            $(
                #[doc = concat!("Columns of `evidence/", $file, "`.")]
                pub(crate) const $view: $crate::evidence::table::View<$name> = $crate::evidence::table::View {
                    file: $file,
                    columns: &[
                        $($crate::evidence::table::table!(@column $name, $col $(, $r, $cx, $value)?),)*
                        $crate::evidence::table::table!(@column $name, observed_at),
                        $crate::evidence::table::Column {
                            name: "observations",
                            write: |r, _, out| out.put(&(r.provenance.len() as u64)),
                        },
                        $crate::evidence::table::Column {
                            name: "sources",
                            write: |r, cx, out| out.sources(&r.provenance, cx),
                        },
                    ],
                };
            )+
        }
    };

    // A table that is only written (no recognition by field name, no merge, no tail).
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)?
        }
        $(
            csv $view:ident $file:literal [
                $( $col:ident $(= |$r:ident, $cx:ident| $value:expr)? ),* $(,)?
            ]
        )+
    ) => {
        $crate::evidence::table::table!(@struct $(#[$meta])* $name { $($(#[$fmeta])* $field: $ty),* });

        impl $name {
            $(
                #[doc = concat!("Columns of `evidence/", $file, "`.")]
                pub(crate) const $view: $crate::evidence::table::View<$name> = $crate::evidence::table::View {
                    file: $file,
                    columns: &[$($crate::evidence::table::table!(@column $name, $col $(, $r, $cx, $value)?),)*],
                };
            )+
        }
    };

    (@struct $(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
        }
    };

    (@column $name:ident, $col:ident) => {
        $crate::evidence::table::Column::<$name> { name: stringify!($col), write: |r, _, out| out.put(&r.$col) }
    };

    (@column $name:ident, $col:ident, $r:ident, $cx:ident, $value:expr) => {
        $crate::evidence::table::Column::<$name> { name: stringify!($col), write: |$r, $cx, out| out.put(&$value) }
    };
}

pub(crate) use table;
