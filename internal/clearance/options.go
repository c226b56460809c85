package clearance

import (
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/thot-security/thot/internal/errs"
)

// The applicant's document type and nationality come from two government
// lists. The HPS frontend's forms send the readable value of each entry
// ("DNI / NIF", "ESPAÑA"); the government's web form and the first legacy
// API used its code (206, 1); older legacy data holds other spellings
// ("DNI", "PASSPORT", "Española"). thot accepts all of them and stores the
// readable value the forms send, so what a person typed reads back the
// same; the code is derived when a machine needs it (the extension API).

// Option is one entry of a government list: its readable value (stored)
// and its government code.
type Option struct {
	Value string
	Code  string
}

// OptionList is one government list with the spellings it accepts.
type OptionList struct {
	field   string // the request field it validates
	noun    string // Spanish name of a value, for messages
	options []Option
	byKey   map[string]Option
}

// newOptionList indexes options by code and by folded value, then adds
// the older spellings (aliases: folded spelling → readable value).
func newOptionList(field, noun string, options []Option, aliases map[string]string) *OptionList {
	l := &OptionList{field: field, noun: noun, options: options, byKey: map[string]Option{}}
	byValue := map[string]Option{}
	for _, o := range options {
		l.byKey[o.Code] = o
		l.byKey[optionKey(o.Value)] = o
		byValue[o.Value] = o
	}
	for alias, value := range aliases {
		l.byKey[optionKey(alias)] = byValue[value]
	}
	return l
}

// Options lists the entries in government order.
func (l *OptionList) Options() []Option { return l.options }

// Normalize maps any accepted spelling of an entry (readable value in any
// case and accents, government code, older spelling) to the entry.
func (l *OptionList) Normalize(v string) (Option, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return Option{}, false
	}
	if n, err := strconv.Atoi(v); err == nil {
		// A code, also with leading zeros or sent as a JSON number.
		o, ok := l.byKey[strconv.Itoa(n)]
		return o, ok
	}
	o, ok := l.byKey[optionKey(v)]
	return o, ok
}

// Code is the government code of a stored value ("" when the value is
// not an entry of the list, e.g. free text kept from the legacy).
func (l *OptionList) Code(value string) string {
	if o, ok := l.Normalize(value); ok {
		return o.Code
	}
	return ""
}

// Message is the 400 text for an unknown value: what was sent and every
// accepted value.
func (l *OptionList) Message(v string) string {
	values := make([]string, len(l.options))
	for i, o := range l.options {
		values[i] = o.Value
	}
	first, last := l.options[0].Code, l.options[len(l.options)-1].Code
	head := "Este campo es obligatorio."
	if v = strings.TrimSpace(v); v != "" {
		head = "«" + v + "» no es " + l.noun + " aceptado."
	}
	return head + " Valores aceptados: " + strings.Join(values, ", ") + "; o su código del Gobierno (" + first + "–" + last + ")."
}

// normalizeInto replaces *v with its readable value, or records the
// field's 400 listing the accepted values.
func (l *OptionList) normalizeInto(fe errs.FieldErrors, v *string) {
	if o, ok := l.Normalize(*v); ok {
		*v = o.Value
		return
	}
	fe.Add(l.field, l.Message(*v))
}

// optionKey folds a spelling for lookup: accents and everything but
// letters and digits dropped, upper case ("Dni/nif" = "DNI / NIF",
// "España" = "ESPAÑA" = "ESPANA").
func optionKey(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	return b.String()
}

// DocumentTypes is the government's identity-document list.
var DocumentTypes = newOptionList("document_type", "un tipo de documento", []Option{
	{"DNI / NIF", "206"},
	{"NIE", "207"},
	{"Tarjeta Residente", "208"},
	{"Pasaporte", "209"},
	{"Otros", "210"},
}, map[string]string{
	// Legacy data (FastAPI migration 0006 and its reverse) and thot's
	// first labels.
	"DNI": "DNI / NIF", "NIF": "DNI / NIF", "PASSPORT": "Pasaporte", "TARJETA_RESIDENTE": "Tarjeta Residente",
	"Tarjeta de residente": "Tarjeta Residente", "Tarjeta de residencia": "Tarjeta Residente", "OTRO": "Otros", "OTHER": "Otros",
})

// Nationalities is the government's nationality list (code 1 = ESPAÑA).
var Nationalities = newOptionList("nationality", "una nacionalidad", []Option{
	{"ESPAÑA", "1"},
	{"DESCONOCIDO", "2"},
	{"AFGANISTAN", "3"},
	{"ALBANIA", "4"},
	{"ALEMANIA", "5"},
	{"ANDORRA", "6"},
	{"ANGOLA", "7"},
	{"ANTIGUA Y BARBUDA", "8"},
	{"APATRIDA", "9"},
	{"ARABIA SAUDITA", "10"},
	{"ARGELIA", "11"},
	{"ARGENTINA", "12"},
	{"ARMENIA", "13"},
	{"ARUBA", "14"},
	{"AUSTRALIA", "15"},
	{"AUSTRIA", "16"},
	{"AZERBAIYAN", "17"},
	{"BAHAMAS (LAS)", "18"},
	{"BAHREIN", "19"},
	{"BANGLADESH", "20"},
	{"BARBADOS", "21"},
	{"BELARUS (BIELORRUSIA)", "22"},
	{"BELGICA", "23"},
	{"BELICE", "24"},
	{"BENIN", "25"},
	{"BERMUDAS", "26"},
	{"BHUTAN (BUTAN)", "27"},
	{"BOLIVIA", "28"},
	{"BOSNIA Y HERZEGOVINA", "29"},
	{"BOTSWANA (BOSTSUANA)", "30"},
	{"BRASIL", "31"},
	{"BRUNEI DARUSSALAM", "32"},
	{"BULGARIA", "33"},
	{"BURKINA FASO", "34"},
	{"BURUNDI", "35"},
	{"CABO VERDE", "36"},
	{"CAIMAN, ISLAS", "37"},
	{"CAMBOYA", "38"},
	{"CAMERUN", "39"},
	{"CANADA", "40"},
	{"CHAD", "41"},
	{"CHEQUIA (REPUBLICA CHECA)", "42"},
	{"CHILE", "43"},
	{"CHINA", "44"},
	{"CHIPRE", "45"},
	{"COLOMBIA", "46"},
	{"CONGO", "47"},
	{"CONGO (REPUBLICA DEMOCRATICA DEL)", "48"},
	{"COREA DEL NORTE", "49"},
	{"COREA DEL SUR", "50"},
	{"COSTA RICA", "51"},
	{"COTE D'IVOIRE (COSTA DE MARFIL)", "52"},
	{"CROACIA", "53"},
	{"CUBA", "54"},
	{"DINAMARCA", "55"},
	{"DJIBOUTI (YIBUTI)", "56"},
	{"DOMINICA", "57"},
	{"DOMINICANA (REPUBLICA)", "58"},
	{"ECUADOR", "59"},
	{"EGIPTO", "60"},
	{"EL SALVADOR", "61"},
	{"EMIRATOS ARABES UNIDOS", "62"},
	{"ERITREA", "63"},
	{"ESLOVAQUIA", "64"},
	{"ESLOVENIA", "65"},
	{"ESTADOS UNIDOS", "66"},
	{"ESTONIA", "67"},
	{"ETIOPIA", "68"},
	{"FIJI (FIYI)", "69"},
	{"FILIPINAS", "70"},
	{"FINLANDIA", "71"},
	{"FRANCIA", "72"},
	{"GABON", "73"},
	{"GAMBIA", "74"},
	{"GEORGIA", "75"},
	{"GHANA", "76"},
	{"GRANADA", "77"},
	{"GRECIA", "78"},
	{"GUADALOUPE (GUADALUPE)", "79"},
	{"GUATEMALA", "80"},
	{"GUAYANA FRANCESA", "81"},
	{"GUINEA", "82"},
	{"GUINEA BISSAU", "83"},
	{"GUINEA ECUATORIAL", "84"},
	{"GUYANA", "85"},
	{"HAITI", "86"},
	{"HONDURAS", "87"},
	{"HONG KONG", "88"},
	{"HUNGRIA", "89"},
	{"INDIA", "90"},
	{"INDONESIA", "91"},
	{"IRAN", "92"},
	{"IRAQ", "93"},
	{"IRLANDA", "94"},
	{"ISLANDIA", "95"},
	{"ISRAEL", "96"},
	{"ITALIA", "97"},
	{"JAMAICA", "98"},
	{"JAPON", "99"},
	{"JORDANIA", "100"},
	{"KAZAJSTAN (KAZAJISTAN)", "101"},
	{"KENYA (KENIA)", "102"},
	{"KIRGUISTAN", "103"},
	{"KIRIBATI", "104"},
	{"KUWAIT", "105"},
	{"LAO (LAOS)", "106"},
	{"LESOTHO", "107"},
	{"LETONIA", "108"},
	{"LIBANO", "109"},
	{"LIBERIA", "110"},
	{"LIBIA", "111"},
	{"LIECHTENSTEIN", "112"},
	{"LITUANIA", "113"},
	{"LUXEMBURGO", "114"},
	{"MACEDONIA DEL NORTE", "115"},
	{"MADAGASCAR", "116"},
	{"MALASIA", "117"},
	{"MALAWI (MALAUI)", "118"},
	{"MALDIVAS", "119"},
	{"MALI", "120"},
	{"MALTA", "121"},
	{"MALVINAS (FALKLAND), ISLAS", "122"},
	{"MARRUECOS", "123"},
	{"MAURITANIA", "124"},
	{"MEXICO", "125"},
	{"MOLDOVA (MOLDAVIA)", "126"},
	{"MONACO", "127"},
	{"MONGOLIA", "128"},
	{"MONTENEGRO", "129"},
	{"MOZAMBIQUE", "130"},
	{"MYANMAR", "131"},
	{"NAMIBIA", "132"},
	{"NEPAL", "133"},
	{"NICARAGUA", "134"},
	{"NIGER", "135"},
	{"NIGERIA", "136"},
	{"NORUEGA", "137"},
	{"NUEVA ZELANDA", "138"},
	{"OMAN", "139"},
	{"PAISES BAJOS", "140"},
	{"PAKISTAN", "141"},
	{"PALESTINA", "142"},
	{"PANAMA", "143"},
	{"PARAGUAY", "144"},
	{"PERU", "145"},
	{"POLINESIA FRANCESA", "146"},
	{"POLONIA", "147"},
	{"PORTUGAL", "148"},
	{"PUERTO RICO", "149"},
	{"QATAR (CATAR)", "150"},
	{"REINO UNIDO DE GRAN BRETAÑA E IRLANDA DEL NORTE", "151"},
	{"REPUBLICA CENTROAFRICANA", "152"},
	{"RUMANIA", "153"},
	{"RUSIA", "154"},
	{"RWANDA (RUANDA)", "155"},
	{"SAHARA OCCIDENTAL (REPUBLICA ARABE SAHARAUI DEMOCRATICA)", "156"},
	{"SANTO TOME Y PRINCIPE", "157"},
	{"SENEGAL", "158"},
	{"SERBIA", "159"},
	{"SEYCHELLES", "160"},
	{"SIERRA LEONA", "161"},
	{"SINGAPUR", "162"},
	{"SIRIA", "163"},
	{"SOMALIA", "164"},
	{"SRI LANKA (CEILAN)", "165"},
	{"SUDAFRICA", "166"},
	{"SUDAN", "167"},
	{"SUDAN DEL SUR", "168"},
	{"SUECIA", "169"},
	{"SUIZA", "170"},
	{"TAILANDIA", "171"},
	{"TAIWAN", "172"},
	{"TANZANIA", "173"},
	{"TAYIKISTAN", "174"},
	{"TOGO", "175"},
	{"TONGA", "176"},
	{"TRINIDAD Y TOBAGO", "177"},
	{"TUNEZ", "178"},
	{"TURKMENISTAN", "179"},
	{"TURQUIA", "180"},
	{"UCRANIA", "181"},
	{"UGANDA", "182"},
	{"URUGUAY", "183"},
	{"UZBEKISTAN", "184"},
	{"VENEZUELA", "185"},
	{"VIETNAM", "186"},
	{"YEMEN", "187"},
	{"ZAMBIA", "188"},
	{"ZIMBABWE (ZIMBABUE)", "189"},
}, map[string]string{
	// Legacy data (FastAPI migration 0006).
	"Española": "ESPAÑA", "Spanish": "ESPAÑA", "SPAIN": "ESPAÑA",
})
