//! A hand-written history builder shared by the oracle's tests: one entry per call, a
//! millisecond apart, on partition t-0 with brokers n1-n3, a producer n4 and a consumer n5.

#![allow(dead_code)] // Each test binary uses part of it.

use odradek_invariants::*;

pub const P: i32 = 0;
pub const PRODUCER: i32 = 4;
pub const CONSUMER: i32 = 5;

pub fn p() -> PartitionRef {
    PartitionRef {
        topic: "t".into(),
        partition: P,
    }
}

/// A history under construction: one entry per call, a millisecond apart.
#[derive(Default, Clone)]
pub struct H {
    pub entries: Vec<Entry>,
    pub time_us: u64,
}

impl H {
    pub fn at(&mut self, node: i32, event: Event) -> &mut Self {
        self.time_us += 1_000;
        self.entries.push(Entry {
            time_us: self.time_us,
            node,
            event,
        });
        self
    }
    pub fn obs(&mut self, node: i32, obs: Observation) -> &mut Self {
        self.at(node, Event::Node(obs))
    }
    pub fn history(&mut self, node: i32, event: HistoryEvent) -> &mut Self {
        self.obs(node, Observation::History(event))
    }
    pub fn elected(&mut self, leader: i32, epoch: i32, kind: ElectionKind) -> &mut Self {
        let partition = p();
        self.obs(
            0,
            Observation::LeaderElected {
                partition,
                leader,
                leader_epoch: epoch,
                kind,
            },
        )
    }
    pub fn changed(
        &mut self,
        leader: Option<i32>,
        epoch: i32,
        pe: i32,
        isr: &[i32],
        elr: &[i32],
    ) -> &mut Self {
        let (isr, elr) = (isr.to_vec(), elr.to_vec());
        let partition = p();
        let obs = Observation::PartitionChanged {
            partition,
            leader,
            leader_epoch: epoch,
            partition_epoch: pe,
            isr,
            elr,
        };
        self.obs(0, obs)
    }
    pub fn leads(&mut self, node: i32, epoch: i32, start: i64) -> &mut Self {
        let partition = p();
        let obs = Observation::BecameLeader {
            partition,
            leader_epoch: epoch,
            start_offset: start,
            isr: vec![],
        };
        self.obs(node, obs)
    }
    pub fn follows(&mut self, node: i32, leader: i32, epoch: i32) -> &mut Self {
        let obs = Observation::BecameFollower {
            partition: p(),
            leader: Some(leader),
            leader_epoch: epoch,
        };
        self.obs(node, obs)
    }
    pub fn append(
        &mut self,
        node: i32,
        first: i64,
        last: i64,
        epoch: i32,
        as_leader: bool,
    ) -> &mut Self {
        let obs = Observation::Appended {
            partition: p(),
            first_offset: first,
            last_offset: last,
            leader_epoch: epoch,
            as_leader,
        };
        self.obs(node, obs)
    }
    pub fn hw(&mut self, node: i32, hw: i64, epoch: i32, as_leader: bool) -> &mut Self {
        let obs = Observation::HighWatermark {
            partition: p(),
            high_watermark: hw,
            leader_epoch: epoch,
            as_leader,
        };
        self.obs(node, obs)
    }
    pub fn send(&mut self, value: u64, acks: i16) -> &mut Self {
        self.history(
            PRODUCER,
            HistoryEvent::Invoke(Operation::Send {
                value,
                partition: p(),
                acks,
            }),
        )
    }
    pub fn done(&mut self, value: u64, outcome: SendOutcome) -> &mut Self {
        self.history(
            PRODUCER,
            HistoryEvent::Complete(Completion { value, outcome }),
        )
    }
    pub fn ok(&mut self, value: u64, offset: i64) -> &mut Self {
        self.done(value, SendOutcome::Ok { offset })
    }
    pub fn poll(&mut self, records: &[(i64, u64)]) -> &mut Self {
        let records = records
            .iter()
            .map(|&(offset, value)| ReadRecord { offset, value })
            .collect();
        self.history(
            CONSUMER,
            HistoryEvent::Poll {
                partition: p(),
                records,
            },
        )
    }
    pub fn final_read(&mut self, records: &[(i64, u64)], hw: i64) -> &mut Self {
        let records = records
            .iter()
            .map(|&(offset, value)| ReadRecord { offset, value })
            .collect();
        self.history(
            PRODUCER,
            HistoryEvent::FinalRead {
                partition: p(),
                records,
                high_watermark: hw,
            },
        )
    }
    pub fn restart(&mut self, node: i32, log_end: i64, hw: i64, clean: bool) -> &mut Self {
        self.at(node, Event::Restarted);
        let obs = Observation::Recovered {
            partition: p(),
            log_end_offset: log_end,
            high_watermark: hw,
            clean_shutdown: clean,
            recovery_cut: None,
        };
        self.obs(node, obs);
        self.obs(
            0,
            Observation::BrokerRegistered {
                broker: node,
                broker_epoch: 9,
                clean,
            },
        )
    }
    pub fn power_loss(&mut self, node: i32, lost_from_byte: u64) -> &mut Self {
        self.at(
            node,
            Event::Crashed {
                power_loss: true,
                halted: false,
            },
        );
        let fault = Event::DiskFault {
            file: "t-0/00000000000000000000.log".into(),
            start: lost_from_byte,
            end: lost_from_byte + 100,
            kind: DiskFaultKind::PowerLoss,
        };
        self.at(node, fault)
    }

    /// Boot: n1 leads epoch 1 with ISR {1,2,3}; values 1..=3 sent acks=all, replicated,
    /// committed, acked at 0..=2.
    pub fn base() -> H {
        let mut h = H::default();
        h.elected(1, 1, ElectionKind::Isr)
            .changed(Some(1), 1, 1, &[1, 2, 3], &[]);
        h.leads(1, 1, 0).follows(2, 1, 1).follows(3, 1, 1);
        for (value, offset) in [(1, 0), (2, 1), (3, 2)] {
            h.send(value, -1).append(1, offset, offset, 1, true);
            h.append(2, offset, offset, 1, false)
                .append(3, offset, offset, 1, false);
            h.hw(1, offset + 1, 1, true).ok(value, offset);
        }
        h.hw(2, 3, 1, false).hw(3, 3, 1, false);
        h
    }

    /// Offset `offset` written in epoch 1 on all three replicas and committed.
    pub fn write(&mut self, offset: i64) -> &mut Self {
        self.append(1, offset, offset, 1, true)
            .append(2, offset, offset, 1, false);
        self.append(3, offset, offset, 1, false)
            .hw(1, offset + 1, 1, true)
    }

    /// The consumer polled everything and the final read returned it.
    pub fn read_back(&mut self) -> &mut Self {
        self.poll(&[(0, 1), (1, 2), (2, 3)])
            .final_read(&[(0, 1), (1, 2), (2, 3)], 3)
    }
}

pub fn config() -> OracleConfig {
    OracleConfig {
        min_insync_replicas: 2,
        unclean_leader_election_enable: false,
        idempotent: true,
        ordered_sends: true,
    }
}

/// A replica at rest: (log end, high watermark, digest), or why it could not be read.
pub type AtRest<'a> = Result<(i64, i64, u64), &'a str>;

/// The replicas at rest as `at_rest` lists them.
pub fn rest(at_rest: &[(i32, AtRest<'_>)]) -> Quiescence {
    let replicas = (at_rest.iter())
        .map(|(broker, contents)| ReplicaAtRest {
            partition: p(),
            broker: *broker,
            contents: contents
                .map(|(log_end_offset, high_watermark, digest)| ReplicaContents {
                    log_end_offset,
                    high_watermark,
                    digest,
                })
                .map_err(|e| e.to_string()),
        })
        .collect();
    Quiescence { replicas }
}

/// Three identical replicas at rest, as `H::base` leaves them.
pub fn healthy() -> Quiescence {
    rest(&[(1, Ok((3, 3, 7))), (2, Ok((3, 3, 7))), (3, Ok((3, 3, 7)))])
}

/// Feeds every entry; the first step violation, or the verdict.
pub fn judge_with(h: &H, config: OracleConfig, at_rest: &Quiescence) -> Result<Verdict, Violation> {
    let mut oracle = Oracle::new(config);
    for entry in &h.entries {
        oracle.observe(entry)?;
    }
    Ok(oracle.finish(at_rest))
}

pub fn judge(h: &H) -> Result<Verdict, Violation> {
    judge_with(h, config(), &healthy())
}

/// The only violation of a finished run.
pub fn only(verdict: Verdict) -> Violation {
    assert_eq!(verdict.violations.len(), 1, "{verdict}");
    verdict.violations.into_iter().next().expect("one")
}
