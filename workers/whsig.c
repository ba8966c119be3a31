/*
 * whsig: Standard Webhooks signatures (protocols.md): the whsec_ secret
 * and the v1 HMAC-SHA256 over "id.timestamp.body".
 */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "whsig.h"

/*
 * "whsec_" and the base64 of 24 to 64 random bytes. EVP_DecodeBlock counts
 * the '=' padding into its length, so it is taken off again.
 */
int
whsig_secret(const char *s, unsigned char *key, size_t *len)
{
	size_t	n, pad = 0;
	int	k;

	if (strncmp(s, "whsec_", 6) != 0)
		return -1;
	s += 6;
	n = strlen(s);
	if (n == 0 || n % 4 != 0 || n / 4 * 3 > WHSIG_SECRET_MAX)
		return -1;
	if (s[n - 1] == '=')
		pad++;
	if (s[n - 2] == '=')
		pad++;
	if ((k = EVP_DecodeBlock(key, (const unsigned char *)s, (int)n)) < 0)
		return -1;
	*len = (size_t)k - pad;
	return *len >= 16 ? 0 : -1;
}

/* "v1," and the base64 HMAC-SHA256 of id.timestamp.body. */
void
whsig_sign(const unsigned char *key, size_t klen, const char *id, const char *ts,
    const char *body, char *out, size_t outlen)
{
	unsigned char	 mac[EVP_MAX_MD_SIZE], b64[64];
	EVP_MAC		*m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX	*c = EVP_MAC_CTX_new(m);
	OSSL_PARAM	 p[2];
	size_t		 l = 0;

	p[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0);
	p[1] = OSSL_PARAM_construct_end();
	EVP_MAC_init(c, key, klen, p);
	EVP_MAC_update(c, (const unsigned char *)id, strlen(id));
	EVP_MAC_update(c, (const unsigned char *)".", 1);
	EVP_MAC_update(c, (const unsigned char *)ts, strlen(ts));
	EVP_MAC_update(c, (const unsigned char *)".", 1);
	EVP_MAC_update(c, (const unsigned char *)body, strlen(body));
	EVP_MAC_final(c, mac, &l, sizeof(mac));
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(m);
	EVP_EncodeBlock(b64, mac, (int)l);
	snprintf(out, outlen, "v1,%s", b64);
}

