//! Several accounts in one emulator: a [`World`] each, and what crosses between them
//! (snapshots one account shares with another, auto snapshot policies copied to one).

use std::collections::BTreeMap;

use super::{Policy, Settings, Snapshot, World};

/// Every account's world; the default account is the one `--credential` (and the demo
/// credential) belongs to.
#[derive(Debug)]
pub(crate) struct Accounts {
    default: String,
    worlds: BTreeMap<String, World>,
}

/// The other accounts' worlds while one account's request runs: read-only, so a handler
/// can see what is shared with its caller but change only its caller's world.
pub(crate) type Others = BTreeMap<String, World>;

/// What a request left for other accounts: auto snapshot policies copied to them.
#[derive(Debug, Default)]
pub(crate) struct Deliveries {
    pub policies: Vec<(String, Policy)>,
}

impl Accounts {
    /// One account, `world`, the default.
    pub(crate) fn new(world: World) -> Self {
        let default = world.settings.account.clone();
        Accounts {
            default: default.clone(),
            worlds: BTreeMap::from([(default, world)]),
        }
    }

    /// Adds `uin` with an empty world unless it is there already (restored from a state
    /// file); its settings are the default account's, but for the account id.
    pub(crate) fn ensure(&mut self, uin: &str) {
        let mut settings: Settings = self.default_world().settings.clone();
        settings.account = uin.to_owned();
        let now_ms = self.default_world().now_ms;
        let world = self
            .worlds
            .entry(uin.to_owned())
            .or_insert_with(|| World::new(settings.clone()));
        world.settings = settings;
        world.now_ms = world.now_ms.max(now_ms);
    }

    /// The default account's id.
    pub(crate) fn default_account(&self) -> &str {
        &self.default
    }

    pub(crate) fn default_world(&self) -> &World {
        &self.worlds[&self.default]
    }

    pub(crate) fn default_world_mut(&mut self) -> &mut World {
        self.worlds
            .get_mut(&self.default)
            .expect("the default account is always there")
    }

    pub(crate) fn world(&self, uin: &str) -> Option<&World> {
        self.worlds.get(uin)
    }

    /// Runs `f` on every account's world.
    pub(crate) fn for_each_world(&mut self, mut f: impl FnMut(&mut World)) {
        self.worlds.values_mut().for_each(&mut f);
    }

    /// Every account other than the default, for the state file.
    pub(crate) fn others(&self) -> impl Iterator<Item = (&String, &World)> {
        self.worlds.iter().filter(|(uin, _)| **uin != self.default)
    }

    /// Puts back an account restored from a state file.
    pub(crate) fn restore(&mut self, uin: String, world: World) {
        self.worlds.insert(uin, world);
    }

    /// Brings every account to `now_ms`; whether anything changed.
    pub(crate) fn advance_to(&mut self, now_ms: u64) -> bool {
        let mut changed = false;
        for world in self.worlds.values_mut() {
            changed |= world.advance_to(now_ms);
        }
        changed
    }

    /// Runs `f` on `uin`'s world with the others beside it (read-only), then hands out
    /// what it left for other accounts. `None` when there is no such account.
    pub(crate) fn as_account<R>(
        &mut self,
        uin: &str,
        f: impl FnOnce(&mut World, &Others, &mut Deliveries) -> R,
    ) -> Option<R> {
        let (uin, mut world) = self.worlds.remove_entry(uin)?;
        let mut deliveries = Deliveries::default();
        let result = f(&mut world, &self.worlds, &mut deliveries);
        self.worlds.insert(uin, world);
        for (target, mut policy) in deliveries.policies {
            if let Some(world) = self.worlds.get_mut(&target) {
                policy.seq = world.next_seq();
                world.policies.insert(policy.id.clone(), policy);
            }
        }
        Some(result)
    }
}

/// The snapshots of other accounts shared with `uin` in `region`, with the world each
/// belongs to (whose clock says how far it is).
pub(crate) fn shared_with<'o>(
    others: &'o Others,
    uin: &'o str,
    region: &'o str,
) -> impl Iterator<Item = (&'o World, &'o Snapshot)> + 'o {
    others.values().flat_map(move |world| {
        world
            .snapshots_in(region)
            .filter(move |s| s.shared_with.iter().any(|(a, _)| a == uin))
            .map(move |s| (world, s))
    })
}

/// The snapshot `id` of another account shared with `uin`, whatever its region.
pub(crate) fn shared_snapshot<'o>(
    others: &'o Others,
    uin: &str,
    id: &str,
) -> Option<(&'o World, &'o Snapshot)> {
    others.values().find_map(|world| {
        world
            .snapshots
            .get(id)
            .filter(|s| s.shared_with.iter().any(|(a, _)| a == uin))
            .map(|s| (world, s))
    })
}
