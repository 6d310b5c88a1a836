//! Enums whose values travel as fixed lowercase names (`"both"`, `"pause"`, …).
//!
//! One macro defines each such enum with its wire names, so parsing, serializing and the
//! "valid values" lists in error messages can never disagree.

/// An enum with a fixed set of wire names.
pub trait Named: Copy + Eq + 'static {
    /// Every value, in the order error messages list them.
    const ALL: &'static [Self];

    /// The value's wire name.
    fn name(self) -> &'static str;

    /// The value with this wire name, if any.
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.name() == name)
    }
}

/// Joins wire names for an error message: `a, b, c`.
pub(crate) fn list<T: Named>(values: &[T]) -> String {
    values
        .iter()
        .map(|v| v.name())
        .collect::<Vec<_>>()
        .join(", ")
}

macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $wire:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $crate::names::Named for $name {
            const ALL: &'static [Self] = &[ $( Self::$variant ),+ ];
            fn name(self) -> &'static str {
                match self { $( Self::$variant => $wire ),+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str($crate::names::Named::name(*self))
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str($crate::names::Named::name(*self))
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                <Self as $crate::names::Named>::from_name(&s).ok_or_else(|| {
                    ::serde::de::Error::custom(format!(
                        "unknown value {:?}; valid values: {}",
                        s,
                        $crate::names::list(<Self as $crate::names::Named>::ALL)
                    ))
                })
            }
        }
    };
}

pub(crate) use named_enum;
