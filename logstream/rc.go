package logstream

// ReturnCode is the outcome of one message or of a whole stream. The values
// are FLARE's upper-case return-code strings, plus NotReady.
type ReturnCode string

// Return codes. A reply without a code is treated as OK.
const (
	// OK means the message was consumed, or the stream ended at EOF.
	OK ReturnCode = "OK"
	// Error is a generic failure, for example every target failed.
	Error ReturnCode = "ERROR"
	// Timeout means no reply arrived in time, or the receiver's idle
	// watchdog ended the stream.
	Timeout ReturnCode = "TIMEOUT"
	// ExecutionException means the receiver failed to consume a message (a
	// chunk whose size field lies, or a chunk callback that failed). It is
	// never retried.
	ExecutionException ReturnCode = "EXECUTION_EXCEPTION"
	// TaskAborted means the run was aborted or the engine shut down.
	TaskAborted ReturnCode = "TASK_ABORTED"
	// BadRequestData means a message was malformed or named a stream the
	// receiver does not know.
	BadRequestData ReturnCode = "BAD_REQUEST_DATA"
	// CommunicationError means the transport could not deliver a message.
	CommunicationError ReturnCode = "COMMUNICATION_ERROR"
	// NotReady means no handler is registered yet for the message's channel
	// and topic: the receiver created nothing and the sender may retry. It is
	// distinct from ExecutionException so that a consume failure is never
	// retried as if it were a bootstrap miss.
	NotReady ReturnCode = "NOT_READY"
)

// Retryable reports whether a reply with this code may be answered by sending
// the same message again: the message may not have been consumed (Timeout,
// CommunicationError) or no stream exists yet (NotReady).
func (rc ReturnCode) Retryable() bool {
	return rc == Timeout || rc == CommunicationError || rc == NotReady
}

// Valid reports whether rc is one of the codes above.
func (rc ReturnCode) Valid() bool {
	switch rc {
	case OK, Error, Timeout, ExecutionException, TaskAborted, BadRequestData, CommunicationError, NotReady:
		return true
	}
	return false
}
