package clearance

import (
	"fmt"

	"github.com/thot-security/thot/internal/errs"
)

// Actor is who attempts a transition, as the state machine sees them.
type Actor string

// Actors. A person is classified per request (ActorFor): the same
// administrator is an Approver on someone else's request and only the
// Applicant on their own — nobody decides their own clearance.
const (
	ActorApprover  Actor = "approver"  // holds hps.gestionar_solicitudes
	ActorTeamLead  Actor = "team_lead" // leads a team the applicant belongs to
	ActorApplicant Actor = "applicant" // the person the request is for
	ActorOther     Actor = "other"     // anyone else who can see it
	ActorExtension Actor = "extension" // an API key with scope extension
	ActorSystem    Actor = "system"    // thot itself: the expiry job, government notices
)

// Actors lists every actor, for tables and tests.
var Actors = []Actor{ActorApprover, ActorTeamLead, ActorApplicant, ActorOther, ActorExtension, ActorSystem}

type move struct{ from, to Status }

// transitions is the whole state machine: each allowed move and who may
// make it. docs/clearance.md renders this table; TestStateMachineTable
// walks every actor × every pair of states against it.
var transitions = map[move][]Actor{
	{Pending, WaitingDPS}:   {ActorApprover, ActorTeamLead, ActorSystem},
	{Pending, Submitted}:    {ActorApprover, ActorTeamLead, ActorExtension, ActorSystem},
	{WaitingDPS, Submitted}: {ActorApprover, ActorTeamLead, ActorExtension, ActorSystem},
	{Submitted, Approved}:   {ActorApprover, ActorSystem},
	{Pending, Rejected}:     {ActorApprover, ActorSystem},
	{WaitingDPS, Rejected}:  {ActorApprover, ActorSystem},
	{Submitted, Rejected}:   {ActorApprover, ActorSystem},
	{Approved, Expired}:     {ActorSystem},
}

// Allowed reports whether actor may move a request from → to.
func Allowed(actor Actor, from, to Status) bool {
	for _, a := range transitions[move{from, to}] {
		if a == actor {
			return true
		}
	}
	return false
}

// WhoMay lists the actors allowed to move from → to (nil: no such move).
func WhoMay(from, to Status) []Actor { return transitions[move{from, to}] }

// CheckTransition is the one place a status change is decided. An unknown
// target is invalid (400 on field "status"); a move the machine does not
// have is a conflict with the request's current state (409); a move it
// has but not for this actor is forbidden (403).
func CheckTransition(actor Actor, from, to Status) error {
	if !to.Valid() {
		return errs.Field("status", fmt.Sprintf("«%s» no es un estado válido.", to))
	}
	who, ok := transitions[move{from, to}]
	if !ok {
		return errs.Conflict("La solicitud está en estado «%s» y no puede pasar a «%s».", from, to)
	}
	for _, a := range who {
		if a == actor {
			return nil
		}
	}
	return errs.Forbidden("No puede pasar la solicitud de «%s» a «%s».", from, to)
}
