/* Standard Webhooks signatures: the specification's own test vector. */
#include <string.h>

#include <criterion/criterion.h>

#include "whsig.h"

Test(whsig, spec_test_vector)
{
	unsigned char	key[WHSIG_SECRET_MAX];
	size_t		len;
	char		sig[128];

	cr_assert_eq(whsig_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key, &len), 0);
	cr_assert_eq(len, 24);
	whsig_sign(key, len, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330",
	    "{\"test\": 2432232314}", sig, sizeof(sig));
	cr_assert_str_eq(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

Test(whsig, bad_secrets_refused)
{
	unsigned char	key[WHSIG_SECRET_MAX];
	size_t		len;

	cr_assert_eq(whsig_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key, &len), -1);
	cr_assert_eq(whsig_secret("whsec_", key, &len), -1);
	cr_assert_eq(whsig_secret("whsec_abc", key, &len), -1);
	cr_assert_eq(whsig_secret("whsec_!!!!!!!!!!!!!!!!!!!!!!!!", key, &len), -1);
	cr_assert_eq(whsig_secret("whsec_c2hvcnQ=", key, &len), -1);	/* 5 bytes */
}
