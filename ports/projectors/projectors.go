// Package projectors holds gatehouse's read models fed from the event log:
// each has On<Event> methods that fold events in, and a versioned handler
// name. Durable ones write through a store in the same transaction as their
// checkpoint; in-memory ones are rebuilt from the log at every start.
package projectors
