//! Lamport's two-phase commit (`TwoPhase.tla`, as published beside stateright's comparison
//! with TLA+) as an explorer model: messages form a set, not queues, and every action is
//! exactly one of the specification's, so state counts compare with TLC's one for one.

use odradek_sim::explorer::{Model, Property};

/// The most resource managers a state holds: two bits each in a `u32`.
pub const MAX_RMS: usize = 16;

/// The specification's `RM` constant: how many resource managers.
#[derive(Debug, Clone, Copy)]
pub struct TwoPhase {
    pub rms: usize,
}

/// `rmState` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rm {
    Working,
    Prepared,
    Committed,
    Aborted,
}

/// `tmState` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tm {
    Init,
    Committed,
    Aborted,
}

/// `<<rmState, tmState, tmPrepared, msgs>>`; sets of RMs are bit masks, and `msgs` is
/// the set of Prepared senders plus the two broadcast messages. Plain `Copy` data, so a
/// successor costs no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct State {
    /// `rmState`, two bits per RM.
    pub rm: u32,
    pub tm: Tm,
    pub tm_prepared: u32,
    pub msg_prepared: u32,
    pub msg_commit: bool,
    pub msg_abort: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    TmCommit,
    TmAbort,
    TmRcvPrepared(usize),
    RmPrepare(usize),
    RmChooseToAbort(usize),
    RmRcvCommitMsg(usize),
    RmRcvAbortMsg(usize),
}

impl TwoPhase {
    fn all(&self) -> u32 {
        (1u32 << self.rms) - 1
    }
}

const RMS: [Rm; 4] = [Rm::Working, Rm::Prepared, Rm::Committed, Rm::Aborted];

impl State {
    pub fn rm(&self, r: usize) -> Rm {
        RMS[(self.rm >> (2 * r) & 3) as usize]
    }

    fn set_rm(&mut self, r: usize, state: Rm) {
        self.rm = self.rm & !(3 << (2 * r)) | (state as u32) << (2 * r);
    }
}

impl Model for TwoPhase {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        assert!(
            (1..=MAX_RMS).contains(&self.rms),
            "1 to {MAX_RMS} resource managers"
        );
        vec![State {
            rm: 0,
            tm: Tm::Init,
            tm_prepared: 0,
            msg_prepared: 0,
            msg_commit: false,
            msg_abort: false,
        }]
    }

    fn actions(&self, s: &State, actions: &mut Vec<Action>) {
        if s.tm == Tm::Init && s.tm_prepared == self.all() {
            actions.push(Action::TmCommit);
        }
        if s.tm == Tm::Init {
            actions.push(Action::TmAbort);
        }
        for r in 0..self.rms {
            if s.tm == Tm::Init && s.msg_prepared & (1 << r) != 0 {
                actions.push(Action::TmRcvPrepared(r));
            }
            if s.rm(r) == Rm::Working {
                actions.push(Action::RmPrepare(r));
                actions.push(Action::RmChooseToAbort(r));
            }
            if s.msg_commit {
                actions.push(Action::RmRcvCommitMsg(r));
            }
            if s.msg_abort {
                actions.push(Action::RmRcvAbortMsg(r));
            }
        }
    }

    fn next_state(&self, s: &State, action: &Action) -> Option<State> {
        let mut n = *s;
        match *action {
            Action::TmCommit => {
                n.tm = Tm::Committed;
                n.msg_commit = true;
            }
            Action::TmAbort => {
                n.tm = Tm::Aborted;
                n.msg_abort = true;
            }
            Action::TmRcvPrepared(r) => n.tm_prepared |= 1 << r,
            Action::RmPrepare(r) => {
                n.set_rm(r, Rm::Prepared);
                n.msg_prepared |= 1 << r;
            }
            Action::RmChooseToAbort(r) => n.set_rm(r, Rm::Aborted),
            Action::RmRcvCommitMsg(r) => n.set_rm(r, Rm::Committed),
            Action::RmRcvAbortMsg(r) => n.set_rm(r, Rm::Aborted),
        }
        Some(n)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("consistent", |m: &TwoPhase, s: &State| {
                let has = |state| (0..m.rms).any(|r| s.rm(r) == state);
                !(has(Rm::Aborted) && has(Rm::Committed))
            }),
            Property::sometimes("all committed", |m: &TwoPhase, s: &State| {
                (0..m.rms).all(|r| s.rm(r) == Rm::Committed)
            }),
        ]
    }

    /// RMs are interchangeable: sort them by everything that belongs to one RM.
    fn representative(&self, s: &State) -> Option<State> {
        let mut rms = [(Rm::Working, false, false); MAX_RMS];
        for (r, slot) in rms.iter_mut().enumerate().take(self.rms) {
            *slot = (
                s.rm(r),
                s.tm_prepared & (1 << r) != 0,
                s.msg_prepared & (1 << r) != 0,
            );
        }
        rms[..self.rms].sort_unstable();
        let mut n = *s;
        n.rm = 0;
        n.tm_prepared = 0;
        n.msg_prepared = 0;
        for (r, (rm, tm_prepared, msg_prepared)) in rms.into_iter().enumerate().take(self.rms) {
            n.set_rm(r, rm);
            n.tm_prepared |= u32::from(tm_prepared) << r;
            n.msg_prepared |= u32::from(msg_prepared) << r;
        }
        Some(n)
    }
}
