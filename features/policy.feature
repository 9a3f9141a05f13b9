Feature: Organization policies decide differently on the same mail
  The same exchanges judged by the three built-in policies: outlook98 (the
  article's behaviour, the default) allows what Outlook 98 did, rfc8551 warns
  about what S/MIME 4.0 demotes, and strict refuses SHA-1, unauthenticated
  CBC encryption and unenrolled recipients. A policy can also be a file.
  strict also claims the CA/B Forum S/MIME Baseline Requirements profile, which
  the certificates enrolled here (before any policy, on .example domains) do
  not meet; strict_profile.feature shows an exchange that does.

  Background:
    Given Contoso and Fabrikam each run their own key management
    And UserA is enrolled at Contoso
    And UserB is enrolled at Fabrikam
    And UserC has a mailbox at Fabrikam but is not enrolled
    And UserA trusts Fabrikam's certificate authority

  @KB-08
  Scenario Outline: A SHA-1 signature under each policy
    Given the organization policy "<policy>"
    And UserB's client signs with "sha1"
    When UserB sends a signed message to UserA
    Then the policy reports "smime.sig.hash.sha1" as <severity>
    And UserA sees the signature as "valid"

    Examples:
      | policy    | severity  |
      | outlook98 | info      |
      | rfc8551   | a warning |
      | strict    | an error  |

  @KB-12
  Scenario Outline: A partner whose client announces only CBC ciphers
    Given Contoso's policy is "<policy>"
    And UserA has UserB in Contacts from an earlier signed message
    When UserA sends an encrypted message to UserB
    Then the outcome is "<outcome>"
    And the policy reports "<rule>" as <severity>

    Examples:
      | policy    | outcome | rule                                  | severity  |
      | outlook98 | sent    | smime.alg.content.cbc-unauthenticated | info      |
      | rfc8551   | sent    | smime.alg.content.cbc-unauthenticated | a warning |
      | strict    | refused | smime.decision.cipher.none            | an error  |

  @KB-04 @IMP-04
  Scenario Outline: An unenrolled recipient under each policy
    Given the organization policy "<policy>"
    When UserA sends an encrypted message to UserC
    Then the outcome is "<outcome>"
    And the policy reports "smime.decision.unenrolled" as <severity>
    And nothing has been sent

    Examples:
      | policy    | outcome | severity  |
      | outlook98 | prompt  | a warning |
      | rfc8551   | prompt  | a warning |
      | strict    | refused | an error  |

 
  Scenario: Certificates issued before strict was adopted do not meet its profile
    Given the organization policy "strict"
    When UserB sends a signed message to UserA
    Then the policy reports "pkilint.cabf.smime.prohibited_attribute" as an error
    And the policy reports "pkilint.cabf.smime.certificate_policies_extension_missing" as an error
    And the policy reports "pkilint.cabf.aia_extension_missing" as a warning
    And the policy reports "pkilint.cabf.internal_domain_name" as an error

  @IMP-03
  Scenario Outline: A policy file may let a client trust a partner's CA on first use
    Given the organization policy "<policy>"
    And UserA no longer trusts Fabrikam's certificate authority
    When UserB sends a signed message to UserA
    And UserA opens the last message from UserB
    Then UserA sees the signature as "<status>"

    Examples:
      | policy                           | status           |
      | outlook98                        | untrusted-issuer |
      | policies/trust-on-first-use.toml | valid            |
