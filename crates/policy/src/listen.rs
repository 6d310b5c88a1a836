//! Who may listen to a recording (POLICY.md §8).

use crate::names::named_enum;

named_enum! {
    /// A user's role in the central store.
    pub enum Role {
        /// Records calls in the projects it belongs to.
        Agent => "agent",
        /// Supervises the projects it is given.
        Supervisor => "supervisor",
        /// Administers everything.
        Admin => "admin",
        /// The telephony platform's account: offers calls to agents and reports what happens
        /// in them, nothing else (it hears nothing and administers nothing).
        Platform => "platform",
    }
}

impl Role {
    /// Whether users of this role take recorded calls in the agent's app. Agents do;
    /// supervisors and admins listen and administer.
    pub fn takes_calls(self) -> bool {
        matches!(self, Self::Agent)
    }
}

/// The person asking to listen, with their current memberships.
#[derive(Debug, Clone, Copy)]
pub struct Listener<'a> {
    /// Their user id.
    pub user_id: &'a str,
    /// Their role.
    pub role: Role,
    /// The projects they belong to (agent) or supervise (supervisor).
    pub projects: &'a [String],
}

/// The recording being asked for.
#[derive(Debug, Clone, Copy)]
pub struct RecordingOwner<'a> {
    /// The agent who recorded it.
    pub agent_id: &'a str,
    /// The project it was recorded in.
    pub project_id: &'a str,
}

/// Whether `listener` may hear `recording`, given whether its project lets agents listen to
/// other agents' recordings now (customer-service projects never do).
///
/// Its own agent always may; another agent only as a member of the same project that allows
/// it; a supervisor of that project; an admin.
pub fn may_listen(
    listener: &Listener<'_>,
    recording: &RecordingOwner<'_>,
    agents_can_listen_to_others: bool,
) -> bool {
    let member = || listener.projects.iter().any(|p| p == recording.project_id);
    match listener.role {
        Role::Admin => true,
        Role::Supervisor => member(),
        Role::Platform => false,
        Role::Agent => {
            listener.user_id == recording.agent_id || (agents_can_listen_to_others && member())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_agents_take_calls() {
        assert!(Role::Agent.takes_calls());
        assert!(!Role::Supervisor.takes_calls());
        assert!(!Role::Admin.takes_calls());
        assert!(!Role::Platform.takes_calls());
    }
    use rstest::rstest;

    const RECORDING: RecordingOwner<'static> = RecordingOwner {
        agent_id: "alice",
        project_id: "sales",
    };

    #[rstest]
    #[case::own_agent("alice", Role::Agent, &["sales"], false, true)]
    #[case::own_agent_after_leaving_project("alice", Role::Agent, &[], false, true)]
    #[case::other_agent_not_allowed("bob", Role::Agent, &["sales"], false, false)]
    #[case::other_agent_allowed("bob", Role::Agent, &["sales"], true, true)]
    #[case::other_agent_other_project("bob", Role::Agent, &["support"], true, false)]
    #[case::supervisor_of_project("sue", Role::Supervisor, &["sales"], false, true)]
    #[case::supervisor_of_other_project("sue", Role::Supervisor, &["support"], true, false)]
    #[case::admin("root", Role::Admin, &[], false, true)]
    #[case::platform("pbx", Role::Platform, &["sales"], true, false)]
    fn permission_matrix(
        #[case] user: &str,
        #[case] role: Role,
        #[case] projects: &[&str],
        #[case] others_allowed: bool,
        #[case] expected: bool,
    ) {
        let projects: Vec<String> = projects.iter().map(|p| (*p).to_owned()).collect();
        let listener = Listener {
            user_id: user,
            role,
            projects: &projects,
        };
        assert_eq!(may_listen(&listener, &RECORDING, others_allowed), expected);
    }
}
