/* region.c: user regions as ISO 3166-1 alpha-2 codes (region.h). */
#include "region.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* The officially assigned alpha-2 codes (249, from Debian's iso-codes), in
 * order for bsearch. */
static const char *const region_codes[] = {
	"AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW",
	"AX", "AZ", "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN",
	"BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG",
	"CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ",
	"DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI",
	"FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL",
	"GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM", "HN", "HR",
	"HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
	"JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA",
	"LB", "LC", "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME",
	"MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU",
	"MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP",
	"NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR",
	"PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW", "SA", "SB", "SC", "SD",
	"SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST", "SV",
	"SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
	"TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE",
	"VG", "VI", "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
};

static int region_cmp(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

int region_normalise(const char *in, char out[REGION_CODE_BYTES])
{
	char up[REGION_CODE_BYTES];

	out[0] = '\0';
	if (in == NULL || strlen(in) != REGION_CODE_BYTES - 1 ||
	    !isalpha((unsigned char)in[0]) || !isalpha((unsigned char)in[1]))
		return -1;
	up[0] = (char)toupper((unsigned char)in[0]);
	up[1] = (char)toupper((unsigned char)in[1]);
	up[2] = '\0';
	if (bsearch(up, region_codes, sizeof(region_codes) / sizeof(region_codes[0]),
	            sizeof(region_codes[0]), region_cmp) == NULL)
		return -1;
	memcpy(out, up, sizeof(up));
	return 0;
}
