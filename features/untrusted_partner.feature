@IMP-03
Feature: A partner's certificate authority is trusted, or the user is warned
  Like Outlook and Thunderbird, a client does not encrypt to a certificate that
  does not chain to a root it trusts: the recipient is listed as unusable, the
  client prompts or refuses as its profile says, and the policy reports it.
  Trusting the partner's certificate authority, or a policy that trusts it on
  first use from a valid signature, is the way to encrypt to the partner.

  Background:
    Given Contoso and Fabrikam each run their own key management
    And UserA is enrolled at Contoso
    And UserB is enrolled at Fabrikam

  Scenario: A contact whose certificate authority is not trusted gets the prompt, not silent encryption
    When UserB sends a signed message to UserA
    And UserA opens the last message from UserB
    Then UserA sees the signature as "untrusted-issuer"
    When UserA adds UserB to Contacts
    And UserA restarts the mail client
    And UserA sends an encrypted message to UserB
    Then UserA is told "None of the recipients can process an encrypted message. You can either proceed with an unencrypted message or cancel the operation"
    And UserB is listed as unusable because "does not chain to a trusted root"
    And UserA is warned that Fabrikam's certificate authority is not trusted
    And the policy reports "smime.decision.untrusted" as a warning
    And the policy reports nothing about "smime.decision.unenrolled"
    And nothing has been sent

  Scenario Outline: Each policy prompts or refuses for a partner whose authority is not trusted
    Given the organization policy "<policy>"
    And UserA has UserB in Contacts from an earlier signed message
    When UserA sends an encrypted message to UserB
    Then the outcome is "<outcome>"
    And UserA is warned that Fabrikam's certificate authority is not trusted
    And the policy reports "smime.decision.untrusted" as <severity>
    And the policy reports nothing about "smime.decision.unenrolled"
    And nothing has been sent

    Examples:
      | policy    | outcome | severity  |
      | outlook98 | prompt  | a warning |
      | rfc8551   | prompt  | a warning |
      | strict    | refused | an error  |

  Scenario: Under strict the refusal says why
    Given the organization policy "strict"
    And UserA has UserB in Contacts from an earlier signed message
    When UserA sends an encrypted message to UserB
    Then the sending is refused because "does not chain to a trusted root"

  Scenario: Trusting the partner's certificate authority makes the partner's certificate usable
    Given UserA has UserB in Contacts from an earlier signed message
    And UserA trusts Fabrikam's certificate authority
    When UserA sends an encrypted message to UserB
    Then the message is sent encrypted
    And the policy reports nothing about "smime.decision.untrusted"
    And UserB can read the message

  Scenario: A policy with trust on first use trusts the authority of a valid signature
    Given the organization policy "policies/trust-on-first-use.toml"
    When UserB sends a signed message to UserA
    And UserA opens the last message from UserB
    Then UserA sees the signature as "valid"
    When UserA adds UserB to Contacts
    And UserA restarts the mail client
    And UserA sends an encrypted message to UserB
    Then the message is sent encrypted
    And the policy reports nothing about "smime.decision.untrusted"
    And UserB can read the message

  Scenario: Trust on first use never trusts an authority for a signature whose sender does not match
    Given the organization policy "policies/trust-on-first-use.toml"
    And UserB's certificate names userx@fabrikam.example instead
    When UserB sends a signed message to UserA
    And UserA opens the last message from UserB
    Then UserA sees the signature as "untrusted-issuer"
    When UserA adds UserB to Contacts
    Then adding the contact is refused
