package clearance

import (
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/thot-security/thot/internal/errs"
)

// RequestInput is the applicant data of a request as clients send it
// (legacy HPSRequestCreate). Validate normalises it in place.
type RequestInput struct {
	RequestType    RequestType
	DocumentType   string
	DocumentNumber string
	BirthDate      string // YYYY-MM-DD
	FirstName      string
	FirstLastName  string
	SecondLastName string
	Nationality    string
	BirthPlace     string
	Email          string
	Phone          string

	birth time.Time
}

// BirthDateValue is the parsed birth date (after Validate).
func (in *RequestInput) BirthDateValue() time.Time { return in.birth }

// Validate checks and normalises every field against today (a date in
// the office time zone), collecting one message per bad field:
// document number trimmed and upper-cased, phone reduced to its digits,
// names trimmed; age at least 18; document type and nationality stored
// as their readable values (options.go), whichever spelling was sent.
func (in *RequestInput) Validate(today time.Time) error {
	fe := errs.FieldErrors{}
	if !in.RequestType.Valid() {
		fe.Add("request_type", "Debe ser new, renewal o transfer.")
	}
	DocumentTypes.normalizeInto(fe, &in.DocumentType)
	in.DocumentNumber = strings.ToUpper(strings.TrimSpace(in.DocumentNumber))
	switch {
	case in.DocumentNumber == "" || len(in.DocumentNumber) > 50:
		fe.Add("document_number", "Debe tener entre 1 y 50 caracteres.")
	case strings.IndexFunc(in.DocumentNumber, func(r rune) bool {
		return !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) || r == '-' || r == ' ')
	}) >= 0:
		fe.Add("document_number", "Solo se admiten letras, números, guiones y espacios.")
	}
	if d, err := time.Parse(time.DateOnly, strings.TrimSpace(in.BirthDate)); err != nil {
		fe.Add("birth_date", "Fecha no válida; use AAAA-MM-DD.")
	} else if !d.Before(today) {
		fe.Add("birth_date", "La fecha de nacimiento debe ser anterior a hoy.")
	} else if age(d, today) < 18 {
		fe.Add("birth_date", "El solicitante debe ser mayor de edad (18 años).")
	} else {
		in.birth = d
	}
	text := func(field string, v *string, min, max int) {
		*v = strings.TrimSpace(*v)
		if n := len([]rune(*v)); n < min || n > max {
			if min > 0 {
				fe.Add(field, "Debe tener entre "+strconv.Itoa(min)+" y "+strconv.Itoa(max)+" caracteres.")
			} else {
				fe.Add(field, "Debe tener como máximo "+strconv.Itoa(max)+" caracteres.")
			}
		}
	}
	text("first_name", &in.FirstName, 1, 100)
	text("first_last_name", &in.FirstLastName, 1, 100)
	text("second_last_name", &in.SecondLastName, 0, 100)
	text("birth_place", &in.BirthPlace, 1, 255)
	Nationalities.normalizeInto(fe, &in.Nationality)
	in.Email = strings.TrimSpace(in.Email)
	if a, err := mail.ParseAddress(in.Email); err != nil || a.Address != in.Email || len(in.Email) > 254 {
		fe.Add("email", "Introduzca una dirección de correo válida.")
	} else {
		in.Email = strings.ToLower(in.Email)
	}
	digits := strings.NewReplacer(" ", "", "-", "", "(", "", ")", "", "+", "").Replace(strings.TrimSpace(in.Phone))
	if len(digits) < 9 || len(digits) > 15 || strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		fe.Add("phone", "El teléfono debe tener entre 9 y 15 dígitos.")
	} else {
		in.Phone = digits
	}
	return fe.Err()
}

// age is the number of whole years from birth to today.
func age(birth, today time.Time) int {
	y := today.Year() - birth.Year()
	if today.Month() < birth.Month() || today.Month() == birth.Month() && today.Day() < birth.Day() {
		y--
	}
	return y
}

// Fill copies validated input into r.
func (in *RequestInput) Fill(r *Request) {
	r.RequestType = in.RequestType
	r.DocumentType = in.DocumentType
	r.DocumentNumber = in.DocumentNumber
	r.BirthDate = in.birth
	r.FirstName = in.FirstName
	r.FirstLastName = in.FirstLastName
	r.SecondLastName = in.SecondLastName
	r.Nationality = in.Nationality
	r.BirthPlace = in.BirthPlace
	r.Email = in.Email
	r.Phone = in.Phone
}
