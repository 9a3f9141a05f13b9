Feature: Client behaviour profiles
  The article's client prompts; a modern client captures certificates from
  valid signed mail by itself and refuses to encrypt when it cannot.

  Background:
    Given Contoso and Fabrikam each run their own key management
    And every client uses the "thunderbird" profile
    And UserA is enrolled at Contoso
    And UserB is enrolled at Fabrikam
    And UserC has a mailbox at Fabrikam but is not enrolled
    And UserA trusts Fabrikam's certificate authority

  @KB-10 @KB-12
  Scenario: Certificates are captured automatically from valid signed mail
    When UserB sends a signed message to UserA
    And UserA opens the last message from UserB
    And UserA sends an encrypted message to UserB
    Then the message is sent encrypted
    And the message is encrypted with "aes-256-gcm"
    And UserB can read the message

  @KB-03
  Scenario: Encryption is refused when any recipient lacks a certificate
    When UserA sends an encrypted message to UserC
    Then the sending is refused because "no usable certificate for userc@fabrikam.example"
    And nothing has been sent
