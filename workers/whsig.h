/* whsig: Standard Webhooks secrets and signatures. */
#ifndef HIVEJOB_WHSIG_H
#define HIVEJOB_WHSIG_H

#include <stddef.h>

#define WHSIG_SECRET_MAX	256

/* Decode "whsec_<base64>" into key (at least 16 bytes); 0 or -1. */
int	whsig_secret(const char *, unsigned char *, size_t *);
/* "v1,<base64 HMAC-SHA256 of id.timestamp.body>" into out. */
void	whsig_sign(const unsigned char *, size_t, const char *, const char *,
	    const char *, char *, size_t);

#endif
