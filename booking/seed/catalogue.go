package seed

// The region the seed builds: Liguria's five ASL, its main hospitals and
// some accredited private facilities, and the visits and exams most often
// booked through a CUP. Names are public; no person is real.

type service struct {
	code, name, short string
	exam              bool
	minutes           int
}

var services = []service{
	{"VCARD", "Visita cardiologica", "Visita cardiologica", false, 20},
	{"VOCUL", "Visita oculistica", "Visita oculistica", false, 20},
	{"VDERM", "Visita dermatologica", "Visita dermatologica", false, 15},
	{"VORTO", "Visita ortopedica", "Visita ortopedica", false, 20},
	{"VORL", "Visita otorinolaringoiatrica", "Visita ORL", false, 20},
	{"VNEUR", "Visita neurologica", "Visita neurologica", false, 30},
	{"VGINE", "Visita ginecologica", "Visita ginecologica", false, 20},
	{"VUROL", "Visita urologica", "Visita urologica", false, 20},
	{"VENDO", "Visita endocrinologica", "Visita endocrinologica", false, 20},
	{"VGAST", "Visita gastroenterologica", "Visita gastroenterologica", false, 20},
	{"VPNEU", "Visita pneumologica", "Visita pneumologica", false, 20},
	{"VFISI", "Visita fisiatrica", "Visita fisiatrica", false, 30},
	{"VCHIR", "Visita chirurgica generale", "Visita chirurgica", false, 20},
	{"VREUM", "Visita reumatologica", "Visita reumatologica", false, 30},
	{"ECG", "Elettrocardiogramma", "Elettrocardiogramma", true, 15},
	{"ECOCARD", "Ecocolordopplergrafia cardiaca", "Ecocardiogramma", true, 30},
	{"ECOADD", "Ecografia addome completo", "Ecografia addome", true, 30},
	{"ECOTIR", "Ecografia tiroide", "Ecografia tiroide", true, 20},
	{"ECOMAM", "Ecografia mammaria bilaterale", "Ecografia mammaria", true, 20},
	{"ECODTSA", "Ecocolordoppler tronchi sovraortici", "Ecodoppler TSA", true, 30},
	{"MAMMO", "Mammografia bilaterale", "Mammografia", true, 15},
	{"RXTOR", "Radiografia del torace", "RX torace", true, 10},
	{"RXCOL", "Radiografia della colonna lombosacrale", "RX colonna", true, 15},
	{"TCENC", "Tomografia computerizzata del capo", "TC encefalo", true, 20},
	{"TCTOR", "Tomografia computerizzata del torace", "TC torace", true, 20},
	{"RMGIN", "Risonanza magnetica del ginocchio", "RM ginocchio", true, 30},
	{"RMCOL", "Risonanza magnetica della colonna lombosacrale", "RM colonna", true, 30},
	{"COLON", "Colonscopia", "Colonscopia", true, 45},
	{"EGDS", "Esofagogastroduodenoscopia", "Gastroscopia", true, 30},
	{"SPIRO", "Spirometria semplice", "Spirometria", true, 20},
	{"HOLTER", "Elettrocardiogramma dinamico Holter", "Holter ECG", true, 20},
	{"EMG", "Elettromiografia", "Elettromiografia", true, 30},
}

type site struct {
	name, short, address, city, ownerKind, owner string
}

var sites = []site{
	// ASL 1 Imperiese
	{"Ospedale di Sanremo", "Ospedale Sanremo", "Via Giovanni Borea 56", "Sanremo", "hospital", "ASL 1 Imperiese"},
	{"Ospedale di Imperia", "Ospedale Imperia", "Via Sant'Agata 57", "Imperia", "hospital", "ASL 1 Imperiese"},
	{"Poliambulatorio di Ventimiglia", "Poliambulatorio Ventimiglia", "Via Basso 2", "Ventimiglia", "asl", "ASL 1 Imperiese"},
	{"Poliambulatorio di Bordighera", "Poliambulatorio Bordighera", "Via Aurelia 122", "Bordighera", "asl", "ASL 1 Imperiese"},
	// ASL 2 Savonese
	{"Ospedale San Paolo", "Ospedale San Paolo", "Via Genova 30", "Savona", "hospital", "ASL 2 Savonese"},
	{"Ospedale Santa Corona", "Ospedale Santa Corona", "Via XXV Aprile 38", "Pietra Ligure", "hospital", "ASL 2 Savonese"},
	{"Poliambulatorio di Albenga", "Poliambulatorio Albenga", "Viale Martiri della Foce 40", "Albenga", "asl", "ASL 2 Savonese"},
	{"Poliambulatorio di Cairo Montenotte", "Poliambulatorio Cairo", "Via Artisi 7", "Cairo Montenotte", "asl", "ASL 2 Savonese"},
	{"Poliambulatorio di Finale Ligure", "Poliambulatorio Finale", "Via Dante Alighieri 12", "Finale Ligure", "asl", "ASL 2 Savonese"},
	// ASL 3 Genovese and Genoa's hospitals
	{"Ospedale Policlinico San Martino", "Policlinico San Martino", "Largo Rosanna Benzi 10", "Genova", "hospital", "IRCCS Ospedale Policlinico San Martino"},
	{"Ente Ospedaliero Ospedali Galliera", "Ospedale Galliera", "Mura delle Cappuccine 14", "Genova", "hospital", "E.O. Ospedali Galliera"},
	{"Ospedale Villa Scassi", "Ospedale Villa Scassi", "Corso Onofrio Scassi 1", "Genova", "hospital", "ASL 3 Genovese"},
	{"Ospedale Evangelico Internazionale", "Ospedale Evangelico", "Salita Superiore San Rocchino 31A", "Genova", "hospital", "Ospedale Evangelico Internazionale"},
	{"Ospedale Padre Antero Micone", "Ospedale Micone", "Largo Nevio Rosso 2", "Genova", "hospital", "ASL 3 Genovese"},
	{"Poliambulatorio Struppa", "Poliambulatorio Struppa", "Via Struppa 150", "Genova", "asl", "ASL 3 Genovese"},
	{"Poliambulatorio via Archimede", "Poliambulatorio Archimede", "Via Archimede 30", "Genova", "asl", "ASL 3 Genovese"},
	{"Poliambulatorio Fiumara", "Poliambulatorio Fiumara", "Via Operai 80", "Genova", "asl", "ASL 3 Genovese"},
	{"Poliambulatorio di Recco", "Poliambulatorio Recco", "Piazza Nicoloso 5", "Recco", "asl", "ASL 3 Genovese"},
	{"Poliambulatorio di Busalla", "Poliambulatorio Busalla", "Via Chiappa 6", "Busalla", "asl", "ASL 3 Genovese"},
	{"Poliambulatorio di Arenzano", "Poliambulatorio Arenzano", "Via del Mare 2", "Arenzano", "asl", "ASL 3 Genovese"},
	// ASL 4 Chiavarese
	{"Ospedale di Lavagna", "Ospedale Lavagna", "Via Don Bobbio 25", "Lavagna", "hospital", "ASL 4 Chiavarese"},
	{"Ospedale di Sestri Levante", "Ospedale Sestri Levante", "Via Terzi 43", "Sestri Levante", "hospital", "ASL 4 Chiavarese"},
	{"Poliambulatorio di Chiavari", "Poliambulatorio Chiavari", "Corso Dante 163", "Chiavari", "asl", "ASL 4 Chiavarese"},
	{"Poliambulatorio di Rapallo", "Poliambulatorio Rapallo", "Piazza Molfino 10", "Rapallo", "asl", "ASL 4 Chiavarese"},
	// ASL 5 Spezzino
	{"Ospedale Sant'Andrea", "Ospedale Sant'Andrea", "Via Vittorio Veneto 197", "La Spezia", "hospital", "ASL 5 Spezzino"},
	{"Ospedale San Bartolomeo", "Ospedale San Bartolomeo", "Via Cisa", "Sarzana", "hospital", "ASL 5 Spezzino"},
	{"Poliambulatorio di Levanto", "Poliambulatorio Levanto", "Piazza Staglieno 1", "Levanto", "asl", "ASL 5 Spezzino"},
	{"Poliambulatorio Falcomatà", "Poliambulatorio Falcomatà", "Via XXIV Maggio 139", "La Spezia", "asl", "ASL 5 Spezzino"},
	// Accredited private facilities
	{"Centro Diagnostico Ligure", "Centro Diagnostico Ligure", "Via Cesarea 12", "Genova", "private", "Centro Diagnostico Ligure S.r.l."},
	{"Istituto Radiologico Genovese", "Istituto Radiologico", "Corso Europa 280", "Genova", "private", "Istituto Radiologico Genovese S.p.A."},
	{"Poliambulatorio Riviera", "Poliambulatorio Riviera", "Corso Italia 51", "Savona", "private", "Riviera Salute S.r.l."},
	{"Centro Medico Tigullio", "Centro Medico Tigullio", "Via Entella 44", "Chiavari", "private", "Centro Medico Tigullio S.r.l."},
	{"Centro Diagnostico Spezzino", "Centro Diagnostico Spezzino", "Via Fontevivo 21", "La Spezia", "private", "Diagnostica Spezzina S.r.l."},
	{"Istituto Clinico Imperiese", "Istituto Clinico Imperiese", "Via Nizza 48", "Sanremo", "private", "Clinica Imperiese S.r.l."},
}

// Names for codici fiscali: plausible, not real people.
var surnames = []string{"Rossi", "Ferrari", "Russo", "Bianchi", "Romano", "Gallo", "Costa", "Fontana", "Conti", "Esposito",
	"Ricci", "Bruno", "Rinaldi", "Moretti", "Marino", "Greco", "Barbieri", "Lombardi", "Giordano", "Cassano",
	"Colombo", "Mancini", "Longo", "Leone", "Martinelli", "Parodi", "Repetto", "Canepa", "Ferrando", "Bottaro"}

var maleNames = []string{"Marco", "Giuseppe", "Luca", "Andrea", "Giovanni", "Francesco", "Paolo", "Stefano", "Alessandro", "Roberto",
	"Davide", "Matteo", "Simone", "Lorenzo", "Giorgio"}

var femaleNames = []string{"Maria", "Anna", "Giulia", "Francesca", "Chiara", "Sara", "Laura", "Elena", "Paola", "Silvia",
	"Valentina", "Federica", "Alessia", "Martina", "Giovanna"}

// comuni are cadastral codes of places of birth.
var comuni = []string{"D969", "E463", "I480", "E290", "C621", "H501", "F205", "L219", "G273", "F839", "I138", "E488"}
