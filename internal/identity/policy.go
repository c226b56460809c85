package identity

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// commonPasswords is a short list of the passwords most often tried first,
// including the Spanish ones and the legacy defaults; Django's validator
// ships a longer list, which the identity work may bring in.
var commonPasswords = map[string]bool{
	"password": true, "password1": true, "password123": true, "12345678": true, "123456789": true,
	"1234567890": true, "qwertyuiop": true, "qwerty123": true, "iloveyou": true, "admin123": true,
	"administrador": true, "contraseña": true, "contrasena": true, "contraseña1": true, "12341234": true,
	"abc12345": true, "abcd1234": true, "11111111": true, "00000000": true, "passw0rd": true,
	"welcome1": true, "bienvenido": true, "changeme": true, "cambiame": true, "letmein1": true,
}

// CheckPassword applies the password policy (Django's four validators):
// at least 8 characters, not entirely numeric, not too close to the
// user's e-mail or name, not a common password. It returns one message
// per broken rule, in DRF's words.
func CheckPassword(password, email, first, last string) []string {
	var out []string
	if utf8.RuneCountInString(password) < 8 {
		out = append(out, "This password is too short. It must contain at least 8 characters.")
	}
	if password != "" && strings.IndexFunc(password, func(r rune) bool { return !unicode.IsDigit(r) }) < 0 {
		out = append(out, "This password is entirely numeric.")
	}
	lp := strings.ToLower(password)
	if lp != "" {
		local, _, _ := strings.Cut(strings.ToLower(email), "@")
		for _, attr := range []string{strings.ToLower(email), local, strings.ToLower(first), strings.ToLower(last)} {
			if len(attr) >= 3 && (lp == attr || strings.Contains(lp, attr) && len(attr)*10 >= len(lp)*7) {
				out = append(out, "The password is too similar to the user's personal data.")
				break
			}
		}
	}
	if commonPasswords[lp] {
		out = append(out, "This password is too common.")
	}
	return out
}
