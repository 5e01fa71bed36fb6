package subject

// Hazard is one hazard of the reference notes
// (reference/nvflare-streaming-notes.md, H1-H20) that a built-in scenario
// produces: a subject with the hazard fails the scenario, a correct one
// passes it.
type Hazard struct {
	// ID is the notes' name, such as "H1".
	ID string
	// What says in a few words what goes wrong in the reference.
	What string
	// Scenario is the built-in scenario that produces it.
	Scenario string
}

// Hazards lists the hazards a scenario can produce in real time, in the
// notes' order.
var Hazards = []Hazard{
	{"H1", "loss at rename rotation (old handle closed unread)", "rename_rotation_drains_old_handle"},
	{"H1", "loss of bytes appended to the renamed file", "rotation_gap_keeps_reading_renamed_file"},
	{"H2", "two rotations within one poll", "two_rotations_within_one_poll_hide_a_generation"},
	{"H3", "truncate then regrow within one poll", "truncate_regrow_with_new_head_is_detected"},
	{"H3", "plain truncate restarts from zero", "truncate_restarts_from_zero"},
	{"H3", "copytruncate", "copytruncate_window_loss_is_named"},
	{"H6", "lost reply ends the stream", "lost_replies_cause_no_duplicate"},
	{"H7", "dropped request ends the stream", "dropped_requests_are_resent"},
	{"H7", "a delay beyond the chunk timeout ends the stream", "delays_beyond_chunk_timeout_are_resent"},
	{"H8", "not ready at start (late registration) kills the stream", "late_registration_starts_stream_after_misses"},
	{"H9", "heartbeat as first message missed", "heartbeat_first_message_missed_then_stream_starts"},
	{"H8", "receiver never registers", "receiver_never_registers_sender_gives_up"},
	{"H10", "no replies at all", "no_replies_at_all_is_an_error"},
	{"H11", "one unreachable target ends the stream for all", "unreachable_target_does_not_end_healthy_one"},
	{"H11", "one not-ready target ends the stream for all", "second_target_not_ready_while_first_streams"},
	{"H12", "unbounded drain: a writer that never pauses", "writer_that_never_pauses_ends_within_drain_window"},
	{"H16", "receiver shutdown leaves its stream open", "receiver_shutdown_ends_its_stream"},
	{"H17", "abort: receivers end TASK_ABORTED, a lost abort by the watchdog", "lost_abort_is_ended_by_watchdog"},
	{"H20", "duplicated first message deadlocks the receiver", "duplicated_first_message_does_not_deadlock"},
	{"dup", "duplicated and stale deliveries are consumed twice", "duplicate_and_stale_deliveries_are_deduplicated"},
	{"H4", "delete and recreate", "delete_and_recreate"},
	{"H1", "late write to the renamed file", "late_write_to_renamed_file"},
	{"H15", "stall past the idle timeout", "stall_past_idle_timeout_never_consumes_after_done"},
}

// KnownRealTime lists built-in scenarios that this module's streamer fails
// in real time only, each with the issue whose fix makes it pass. The
// simulator's exact timing hides them; they are known failures of the Go
// subject (simrun subject --known-failures), like the scenarios' own
// known-failure marks, until the fix lands.
var KnownRealTime = map[string]int{}
