@IMP-03
Feature: Certificate problems a person must be told about
  Opening a signed message shows valid, untrusted issuer, expired, revoked,
  tampered or address mismatch; problem certificates are not used to encrypt.

  Background:
    Given Contoso and Fabrikam each run their own key management
    And UserA is enrolled at Contoso
    And UserB is enrolled at Fabrikam
    And UserA trusts Fabrikam's certificate authority

  Scenario Outline: What UserA sees on opening UserB's signed message
    Given <condition>
    When UserB sends a signed message to UserA
    And <afterwards>
    And UserA opens the last message from UserB
    Then UserA sees the signature as "<status>"

    Examples:
      | condition                                         | afterwards                                          | status            |
      | nothing unusual has happened                      | nothing else happens                                | valid             |
      | UserA no longer trusts Fabrikam's certificate authority | nothing else happens                          | untrusted-issuer  |
      | nothing unusual has happened                      | 400 days pass                                       | expired           |
      | Fabrikam revokes UserB's certificates             | nothing else happens                                | revoked           |
      | nothing unusual has happened                      | the last message to UserA is tampered with in transit | tampered        |
      | UserB's certificate names userx@fabrikam.example instead | nothing else happens                         | address-mismatch  |

  @IMP-05
  Scenario Outline: Problem certificates in Contacts are not used for encryption
    Given UserA has UserB in Contacts with <certificate>
    When UserA sends an encrypted message to UserB
    Then UserA is told "None of the recipients can process an encrypted message. You can either proceed with an unencrypted message or cancel the operation"
    And UserB is listed as unusable because "<reason>"

    Examples:
      | certificate                                  | reason                            |
      | an expired certificate                       | certificate expired               |
      | a revoked certificate                        | certificate revoked               |
      | a certificate without key encipherment       | key usage does not allow          |
      | a certificate without email protection       | does not include email protection |
      | a certificate for another address            | certificate does not name         |
