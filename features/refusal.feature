@KB-03 @KB-04
Feature: The client refuses to encrypt to recipients it holds no certificate for
  Encryption is only possible to recipients whose usable encryption certificate
  the sender holds. Otherwise the sender is asked, with exactly two choices.

  Background:
    Given Contoso and Fabrikam each run their own key management
    And UserA is enrolled at Contoso
    And UserB is enrolled at Fabrikam

  Scenario: No certificate for the recipient: the article's prompt
    When UserA sends an encrypted message to UserB
    Then UserA is told "None of the recipients can process an encrypted message. You can either proceed with an unencrypted message or cancel the operation"
    And the choices offered are "proceed unencrypted, cancel"
    And nothing has been sent

  Scenario: Cancel sends nothing at all
    When UserA sends an encrypted message to UserB
    And UserA answers "cancel"
    Then the sending was cancelled
    And nothing has been sent
    And UserB has no messages

  Scenario: Proceeding sends plaintext, and says so
    When UserA sends an encrypted message to UserB
    And UserA answers "proceed unencrypted"
    Then the message is sent unencrypted by the sender's choice
    And UserB can read the message
