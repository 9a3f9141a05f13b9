@KB-03 @KB-06
Feature: Replying to a signed message
  The certificate of a message being replied to counts, even before the
  sender is in Contacts: the signed message tells the recipient the sender
  can decrypt.

  Background:
    Given Contoso and Fabrikam each run their own key management
    And UserA is enrolled at Contoso
    And UserB is enrolled at Fabrikam with separate signing and encryption certificates
    And UserA trusts Fabrikam's certificate authority

  Scenario: An encrypted reply uses the certificate the signed message named
    When UserB sends a signed message to UserA
    And UserA opens the last message from UserB
    And UserA replies to UserB with an encrypted message
    Then the message is sent encrypted
    And the certificate for UserB came from the "reply"
    And the message is encrypted to UserB's current encryption certificate
    And UserB can read the message

  Scenario: An unsigned message gives nothing to reply encrypted to
    When UserB sends a plain message to UserA
    And UserA opens the last message from UserB
    And UserA replies to UserB with an encrypted message
    Then UserA is told "None of the recipients can process an encrypted message. You can either proceed with an unencrypted message or cancel the operation"
